package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/provider/external"
	"github.com/agentops/failover-harness/harness/topology"
)

// dryRun prints, row by row, every change the plan would make to the
// external target (the hooks it would run, rendered; the toxics it would
// add and remove), in order, and touches nothing: the faults run against
// a cluster that prints instead of acting (external.Dry).
func dryRun(ctx context.Context, s *engine.Suite, rows []engine.Row, w io.Writer) error {
	p, ok := s.Provider.(*external.Provider)
	if !ok {
		return errors.New("--dry-run: needs --provider external")
	}
	fmt.Fprintf(w, "dry run against %s: nothing is changed; each row below would run in this order.\n", p.File.LB.URL)
	fmt.Fprintln(w, "Before each row: wait until the target is whole (GET /lb/status: every region in rotation; GET /regions of each region: every region active).")
	fmt.Fprintln(w, "During each row: simulated users create sessions and send messages through the LB and the regions' URLs (the row's own sessions only).")
	for _, row := range rows {
		fmt.Fprintf(w, "\n%s: %s\n", row.Label, row.Spec)
		spec := s.Base
		if row.Needs != nil {
			spec = row.Needs(spec)
		}
		if err := external.Compatible(s.Base, spec); err != nil {
			fmt.Fprintf(w, "  SKIPPED: %v\n", err)
			continue
		}
		if row.Faults == nil {
			fmt.Fprintln(w, "  no fault: reads and writes only")
			continue
		}
		if err := dryFaults(ctx, p, spec, row.Faults(spec), w); err != nil {
			return err
		}
	}
	return nil
}

func dryFaults(ctx context.Context, p *external.Provider, spec topology.Spec, faults []fault.Fault, w io.Writer) error {
	c, err := external.Dry(p.File, spec, w)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	for _, f := range faults {
		if err := f.Available(c); err != nil {
			fmt.Fprintf(w, "  SKIPPED: %s: %v\n", f.Name(), err)
			return nil
		}
	}
	for _, f := range faults {
		fmt.Fprintf(w, "  inject %s:\n", f.Name())
		if d, ok := f.(interface{ Describe() string }); ok {
			fmt.Fprintf(w, "    %s\n", d.Describe())
			continue
		}
		heal, err := f.Inject(ctx, c)
		if err != nil {
			return fmt.Errorf("dry run of %s: %w", f.Name(), err)
		}
		fmt.Fprintf(w, "  heal %s (when the row is done with it, or at its end on any path):\n", f.Name())
		if err := heal(ctx); err != nil {
			return fmt.Errorf("dry run of %s's heal: %w", f.Name(), err)
		}
	}
	return nil
}
