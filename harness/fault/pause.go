package fault

import (
	"context"
	"fmt"

	"github.com/agentops/failover-harness/harness/topology"
)

// Pause freezes a region's runtime: connections are accepted by the kernel
// but nothing answers (unresponsive, not refused).
type Pause struct{ Region string }

// Name is e.g. "pause(us-east-1)".
func (f Pause) Name() string { return fmt.Sprintf("pause(%s)", f.Region) }

// Available checks the region exists.
func (f Pause) Available(c topology.Cluster) error {
	if err := hasRegion(c, f.Region); err != nil {
		return err
	}
	return topology.Can(c, topology.OpPause, f.Region)
}

// Inject pauses; recover resumes.
func (f Pause) Inject(ctx context.Context, c topology.Cluster) (func(context.Context) error, error) {
	if err := c.Pause(ctx, f.Region); err != nil {
		return nil, err
	}
	return Once(func(ctx context.Context) error { return c.Resume(ctx, f.Region) }), nil
}

// Stops is the region whose process it stops.
func (f Pause) Stops() []string { return []string{f.Region} }
