package fault

import (
	"context"
	"fmt"

	"github.com/agentops/failover-harness/harness/topology"
)

// LongOutage kills a region and leaves it down until recovered; recover
// starts it again (warm cache unless ColdCache).
type LongOutage struct {
	Region    string
	ColdCache bool
}

// Name is e.g. "long-outage(us-east-1)".
func (f LongOutage) Name() string { return fmt.Sprintf("long-outage(%s)", f.Region) }

// Available checks the region exists.
func (f LongOutage) Available(c topology.Cluster) error { return canKill(c, f.Region, f.ColdCache) }

// Inject kills the region.
func (f LongOutage) Inject(ctx context.Context, c topology.Cluster) (func(context.Context) error, error) {
	if err := c.Kill(ctx, f.Region); err != nil {
		return nil, err
	}
	return Once(func(ctx context.Context) error { return c.Start(ctx, f.Region, f.ColdCache) }), nil
}

// Stops is the region whose process it stops.
func (f LongOutage) Stops() []string { return []string{f.Region} }
