package fault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// ClockSkew restarts a region's runtime with its wall clock offset by Offset
// (ahead when positive), as an unsynchronised host would run, optionally
// with an empty cache. Inject returns once the region answers again on the
// skewed clock; recover restarts it on the clock its spec gives it
// (RegionSpec.ClockOffset, 0 by default). Both restarts are a kill and a
// start (KillRestart without downtime): the region is down while each runs.
type ClockSkew struct {
	Region    string
	Offset    time.Duration
	ColdCache bool
}

// Name is e.g. "clock-skew(us-east-1,+10s,cold)".
func (f ClockSkew) Name() string {
	n := fmt.Sprintf("clock-skew(%s,%s", f.Region, signed(f.Offset))
	if f.ColdCache {
		n += ",cold"
	}
	return n + ")"
}

// signed is d with its sign: +10s, -10s, 0s.
func signed(d time.Duration) string {
	if d > 0 {
		return "+" + d.String()
	}
	return d.String()
}

// Available checks the region exists, the offset is one the runtime takes,
// and the cluster can set a region's clock (topology.ClockSetter).
func (f ClockSkew) Available(c topology.Cluster) error {
	if err := hasRegion(c, f.Region); err != nil {
		return err
	}
	if err := topology.CheckClockOffset(f.Region, f.Offset); err != nil {
		return fmt.Errorf("clock_skew.offset: %w", err)
	}
	if _, ok := c.(topology.ClockSetter); !ok {
		return fmt.Errorf("clock_skew: this provider cannot set a region's clock at restart (no SetClockOffset): %w", topology.ErrUnsupported)
	}
	return nil
}

// Inject sets the region's clock for its next start and restarts it.
func (f ClockSkew) Inject(ctx context.Context, c topology.Cluster) (func(context.Context) error, error) {
	cs, ok := c.(topology.ClockSetter)
	if !ok {
		return nil, f.Available(c)
	}
	restore := func() error { return cs.SetClockOffset(f.Region, specOffset(c.Spec(), f.Region)) }
	if err := cs.SetClockOffset(f.Region, f.Offset); err != nil {
		return nil, err
	}
	if err := c.Kill(ctx, f.Region); err != nil {
		// nothing stopped: the clock goes back for the next start
		return nil, errors.Join(err, restore())
	}
	down := true // killed and not started again
	// not Once(): a failed step is tried again by the next call
	healed := false
	recover := func(ctx context.Context) error {
		if healed {
			return nil
		}
		if err := restore(); err != nil {
			return err
		}
		if !down {
			if err := c.Kill(ctx, f.Region); err != nil {
				return err
			}
			down = true
		}
		if err := c.Start(ctx, f.Region, false); err != nil {
			return fmt.Errorf("restart %s on its own clock: %w", f.Region, err)
		}
		down, healed = false, true
		return nil
	}
	if err := c.Start(ctx, f.Region, f.ColdCache); err != nil {
		// half-applied: recover starts it on its own clock
		return recover, fmt.Errorf("restart %s with clock %s: %w", f.Region, signed(f.Offset), err)
	}
	down = false
	return recover, nil
}

// Stops is the region it restarts.
func (f ClockSkew) Stops() []string { return []string{f.Region} }

func specOffset(s topology.Spec, region string) time.Duration {
	for _, r := range s.Regions {
		if r.Name == region {
			return r.ClockOffset
		}
	}
	return 0
}
