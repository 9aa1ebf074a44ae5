package fault

import (
	"context"
	"fmt"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/agentops/failover-harness/harness/topology"
)

// Latency delays every byte on a link (downstream, i.e. responses) by
// Latency ± Jitter.
type Latency struct {
	Link    string
	Latency time.Duration
	Jitter  time.Duration
}

// Name is e.g. "latency(lb->us-east-1,200ms)".
func (f Latency) Name() string { return fmt.Sprintf("latency(%s,%v)", f.Link, f.Latency) }

// Available checks the link exists and the delay is positive.
func (f Latency) Available(c topology.Cluster) error {
	if f.Latency <= 0 {
		return fmt.Errorf("latency.latency: must be > 0, got %v", f.Latency)
	}
	if f.Jitter < 0 {
		return fmt.Errorf("latency.jitter: must be >= 0, got %v", f.Jitter)
	}
	if c.Toxiproxy() == nil {
		return topology.ErrUnsupported
	}
	return hasLink(c, f.Link)
}

// Inject adds a latency toxic.
func (f Latency) Inject(_ context.Context, c topology.Cluster) (func(context.Context) error, error) {
	attrs := toxiproxy.Attributes{"latency": f.Latency.Milliseconds(), "jitter": f.Jitter.Milliseconds()}
	return addToxics(c, f.Link, "latency", []string{"downstream"}, attrs)
}
