package fault

import (
	"context"
	"fmt"

	"github.com/agentops/failover-harness/harness/topology"
)

// Kill crashes a region's runtime and leaves it down until recover starts
// it again (optionally with an empty cache): a crash whose downtime the
// caller decides, as a randomized schedule does. KillRestart is the
// blocking form with a fixed downtime.
type Kill struct {
	Region    string
	ColdCache bool
}

// Name is e.g. "kill(us-east-1)".
func (f Kill) Name() string {
	if f.ColdCache {
		return fmt.Sprintf("kill(%s,cold)", f.Region)
	}
	return fmt.Sprintf("kill(%s)", f.Region)
}

// Available checks the region exists.
func (f Kill) Available(c topology.Cluster) error { return canKill(c, f.Region, f.ColdCache) }

// Inject kills; recover starts the region again.
func (f Kill) Inject(ctx context.Context, c topology.Cluster) (func(context.Context) error, error) {
	if err := c.Kill(ctx, f.Region); err != nil {
		return nil, err
	}
	// not Once(): a start that failed must be tried again by HealAll
	started := false
	return func(ctx context.Context) error {
		if started {
			return nil
		}
		if err := c.Start(ctx, f.Region, f.ColdCache); err != nil {
			return fmt.Errorf("start %s: %w", f.Region, err)
		}
		started = true
		return nil
	}, nil
}

// Stops is the region whose process it stops.
func (f Kill) Stops() []string { return []string{f.Region} }
