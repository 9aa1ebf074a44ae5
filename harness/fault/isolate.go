package fault

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentops/failover-harness/harness/topology"
)

// IsolateRegion partitions every link of a region: its store, its cache, its
// peers (both directions) and the LB's link to it.
type IsolateRegion struct {
	Region string
	Mode   string // as Partition.Mode; empty = down
}

// Name is e.g. "isolate(us-east-1)".
func (f IsolateRegion) Name() string { return fmt.Sprintf("isolate(%s)", f.Region) }

// Available checks the region and its links exist.
func (f IsolateRegion) Available(c topology.Cluster) error {
	if err := hasRegion(c, f.Region); err != nil {
		return err
	}
	for _, l := range topology.RegionLinks(c.Spec(), f.Region) {
		if err := (Partition{Link: l, Mode: f.Mode}).Available(c); err != nil {
			return err
		}
	}
	return nil
}

// Inject cuts every link; on a partial failure it restores what it cut.
func (f IsolateRegion) Inject(ctx context.Context, c topology.Cluster) (func(context.Context) error, error) {
	var recs []func(context.Context) error
	heal := healNewestFirst(&recs)
	for _, l := range topology.RegionLinks(c.Spec(), f.Region) {
		r, err := (Partition{Link: l, Mode: f.Mode}).Inject(ctx, c)
		if r != nil {
			recs = append(recs, r) // a half-applied part is healed too
		}
		if err != nil {
			return nil, errors.Join(err, heal(ctx))
		}
	}
	return heal, nil
}
