package fault

import (
	"context"
	"fmt"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// KillRestart crashes a region's runtime and starts it again on the same port
// after Downtime, optionally with an empty cache. Inject returns once the
// region has been restarted; recover is a no-op unless the restart failed.
type KillRestart struct {
	Region    string
	ColdCache bool
	Downtime  time.Duration
}

// Name is e.g. "kill-restart(us-east-1,cold)".
func (f KillRestart) Name() string {
	if f.ColdCache {
		return fmt.Sprintf("kill-restart(%s,cold)", f.Region)
	}
	return fmt.Sprintf("kill-restart(%s)", f.Region)
}

// Available checks the region exists and the downtime is not negative.
func (f KillRestart) Available(c topology.Cluster) error {
	if f.Downtime < 0 {
		return fmt.Errorf("kill_restart.downtime: negative %v", f.Downtime)
	}
	return canKill(c, f.Region, f.ColdCache)
}

// Inject kills, waits Downtime (or until ctx ends) and restarts.
func (f KillRestart) Inject(ctx context.Context, c topology.Cluster) (func(context.Context) error, error) {
	if err := c.Kill(ctx, f.Region); err != nil {
		return nil, err
	}
	// not Once(): if the restart below fails, recover must try again
	restarted := false
	start := func(ctx context.Context) error {
		if restarted {
			return nil
		}
		if err := c.Start(ctx, f.Region, f.ColdCache); err != nil {
			return err
		}
		restarted = true
		return nil
	}
	if f.Downtime > 0 {
		t := time.NewTimer(f.Downtime)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			// the region stays down; recover (or HealAll) brings it back
			return start, nil
		}
	}
	if err := start(ctx); err != nil {
		return start, fmt.Errorf("restart %s: %w", f.Region, err)
	}
	return start, nil
}

// Stops is the region whose process it stops.
func (f KillRestart) Stops() []string { return []string{f.Region} }
