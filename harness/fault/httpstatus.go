package fault

import (
	"context"
	"fmt"

	"github.com/agentops/failover-harness/harness/topology"
)

// HTTPStatus makes a region's front door answer Code to every request,
// health checks included.
type HTTPStatus struct {
	Region string
	Code   int // default 503
}

func (f HTTPStatus) code() int {
	if f.Code == 0 {
		return 503
	}
	return f.Code
}

// Name is e.g. "http-status(us-east-1,503)".
func (f HTTPStatus) Name() string { return fmt.Sprintf("http-status(%s,%d)", f.Region, f.code()) }

// Available checks the region has a gate and the code is an HTTP status.
func (f HTTPStatus) Available(c topology.Cluster) error {
	if f.code() < 100 || f.code() > 599 {
		return fmt.Errorf("http_status.code: %d is not an HTTP status", f.Code)
	}
	return gateOf(c, f.Region, topology.OpHTTPStatus)
}

// Inject sets the gate's fixed status.
func (f HTTPStatus) Inject(_ context.Context, c topology.Cluster) (func(context.Context) error, error) {
	g := c.Gate(f.Region)
	heal := Once(func(context.Context) error { return g.SetStatus(0) })
	if err := g.SetStatus(f.code()); err != nil {
		return heal, err // half-applied: the recorder heals it
	}
	return heal, nil
}

func gateOf(c topology.Cluster, region string, op topology.Op) error {
	if err := hasRegion(c, region); err != nil {
		return err
	}
	if c.Gate(region) == nil {
		return fmt.Errorf("region %s: no HTTP gate: %w", region, topology.ErrUnsupported)
	}
	return topology.Can(c, op, region)
}
