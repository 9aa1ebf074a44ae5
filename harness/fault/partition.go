package fault

import (
	"context"
	"fmt"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/agentops/failover-harness/harness/topology"
)

// Partition cuts one link. Mode "down" disables the proxy (connection
// refused), "timeout" holds data forever without answering, "reset_peer"
// answers with TCP RST.
type Partition struct {
	Link string
	Mode string // down | timeout | reset_peer; empty = down
}

func (p Partition) mode() string {
	if p.Mode == "" {
		return "down"
	}
	return p.Mode
}

// Name is e.g. "partition(us-east-1->dynamodb,timeout)".
func (p Partition) Name() string { return fmt.Sprintf("partition(%s,%s)", p.Link, p.mode()) }

// Available checks the link exists and the mode is known.
func (p Partition) Available(c topology.Cluster) error {
	switch p.mode() {
	case "down", "timeout", "reset_peer":
	default:
		return fmt.Errorf("partition.mode: %q must be down, timeout or reset_peer", p.Mode)
	}
	if c.Toxiproxy() == nil {
		return topology.ErrUnsupported
	}
	return hasLink(c, p.Link)
}

// Inject applies the partition.
func (p Partition) Inject(_ context.Context, c topology.Cluster) (func(context.Context) error, error) {
	return cutLink(c, p.Link, p.mode())
}

func cutLink(c topology.Cluster, link, mode string) (func(context.Context) error, error) {
	px, err := c.Link(link)
	if err != nil {
		return nil, fmt.Errorf("link %s: %w", link, err)
	}
	switch mode {
	case "down":
		if err := px.Disable(); err != nil {
			return nil, fmt.Errorf("link %s: disable: %w", link, err)
		}
		return Once(func(context.Context) error {
			px, err := c.Link(link)
			if err != nil {
				return err
			}
			return px.Enable()
		}), nil
	case "timeout", "reset_peer":
		// both directions, so a half-open connection cannot leak data through
		return addToxics(c, link, mode, []string{"upstream", "downstream"}, toxiproxy.Attributes{"timeout": 0})
	}
	return nil, fmt.Errorf("partition.mode: unknown %q", mode)
}
