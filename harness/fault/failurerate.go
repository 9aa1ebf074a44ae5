package fault

import (
	"context"
	"fmt"

	"github.com/agentops/failover-harness/harness/topology"
)

// FailureRate makes a region's front door answer 503 to a fraction Rate of
// requests (seeded, so a replay fails the same draws).
type FailureRate struct {
	Region string
	Rate   float64
}

// Name is e.g. "failure-rate(us-east-1,0.50)".
func (f FailureRate) Name() string { return fmt.Sprintf("failure-rate(%s,%.2f)", f.Region, f.Rate) }

// Available checks the rate is in [0,1] and the region has a gate.
func (f FailureRate) Available(c topology.Cluster) error {
	if f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("failure_rate.rate: %v not in [0,1]", f.Rate)
	}
	return gateOf(c, f.Region, topology.OpFailureRate)
}

// Inject sets the gate's failure rate.
func (f FailureRate) Inject(_ context.Context, c topology.Cluster) (func(context.Context) error, error) {
	g := c.Gate(f.Region)
	heal := Once(func(context.Context) error { return g.SetFailureRate(0) })
	if err := g.SetFailureRate(f.Rate); err != nil {
		return heal, err // half-applied: the recorder heals it
	}
	return heal, nil
}
