package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agentops/failover-harness/harness/topology"
)

// RegionsDown applies one per-region fault to several regions at once. Fault
// builds the fault for a region; nil means HTTPStatus 503.
type RegionsDown struct {
	Regions []string
	Fault   func(region string) Fault
}

func (f RegionsDown) each() []Fault {
	mk := f.Fault
	if mk == nil {
		mk = func(r string) Fault { return HTTPStatus{Region: r, Code: 503} }
	}
	out := make([]Fault, len(f.Regions))
	for i, r := range f.Regions {
		out[i] = mk(r)
	}
	return out
}

// Name is e.g. "regions-down(us-east-1,eu-west-1)".
func (f RegionsDown) Name() string {
	return fmt.Sprintf("regions-down(%s)", strings.Join(f.Regions, ","))
}

// Available checks every per-region fault.
func (f RegionsDown) Available(c topology.Cluster) error {
	if len(f.Regions) == 0 {
		return errors.New("regions_down.regions: empty")
	}
	for _, ff := range f.each() {
		if err := ff.Available(c); err != nil {
			return err
		}
	}
	return nil
}

// Inject applies every per-region fault; on failure it heals those applied.
func (f RegionsDown) Inject(ctx context.Context, c topology.Cluster) (func(context.Context) error, error) {
	var recs []func(context.Context) error
	heal := healNewestFirst(&recs)
	for _, ff := range f.each() {
		r, err := ff.Inject(ctx, c)
		if r != nil {
			recs = append(recs, r) // a half-applied part is healed too
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("%s: %w", ff.Name(), err), heal(ctx))
		}
	}
	return heal, nil
}

// Stops lists the regions whose per-region fault stops their process.
func (f RegionsDown) Stops() []string {
	var out []string
	for _, ff := range f.each() {
		if s, ok := ff.(Stopper); ok {
			out = append(out, s.Stops()...)
		}
	}
	return out
}
