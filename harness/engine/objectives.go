package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/config"
	"github.com/agentops/failover-harness/reports"
)

// RealFigures are what a row measured, projected to real time: the figures
// its objectives are held to. A nil figure was not measured by the row.
type RealFigures struct {
	// Detection is the slowest detection-time check's (check.Never: a
	// region never left the rotation).
	Detection *float64
	RTO       *float64
	// RPO is the conversation lost, in seconds; LostMessages the
	// acknowledged messages lost (an RPO objective of 0s allows none).
	RPO          *float64
	LostMessages int
}

// Project is how a measured time of a compressed run reads in real time:
// the part beyond the bound's allowances (scheduling slack, the users'
// resend pause, which are the same at every scale) times k, the allowances
// as they are, as the bound itself is projected (bounds.Duration.Project).
// So a figure within its bound stays within the bound's projection. Without
// a bound the whole figure is scaled; a figure that never came stays never.
func Project(v float64, b *check.Bound, k float64) float64 {
	if !(k > 1) || v >= check.Never || v < 0 {
		return v
	}
	a := 0.0
	if d, ok := b.Duration(); ok {
		a = min(d.Allowance().Seconds(), v)
	}
	return a + (v-a)*k
}

// FiguresOf projects a row's measurements from its checks (detection-time,
// rto, rpo, no-acked-message-lost) for a run compressed k times.
func FiguresOf(checks []check.Result, k float64) RealFigures {
	var f RealFigures
	set := func(p **float64, v float64) {
		if *p == nil || v > **p {
			*p = &v
		}
	}
	for _, c := range checks {
		switch {
		case strings.HasPrefix(c.Name, "detection-time("):
			set(&f.Detection, Project(c.Value, c.Bound, k))
		case c.Name == "rto":
			set(&f.RTO, Project(c.Value, c.Bound, k))
		case c.Name == "rpo":
			set(&f.RPO, Project(c.Value, nil, k)) // lost conversation, on the harness's clock
		case c.Name == "no-acked-message-lost":
			f.LostMessages = max(f.LostMessages, int(c.Value))
		}
	}
	return f
}

// ObjectiveName is the check name of an objective's result.
func ObjectiveName(objective string) string { return "objective(" + objective + ")" }

// ObjectiveResults holds a row's real-time figures to its objectives (the
// row's, overrides applied: config.Objectives.For): one result per
// objective the row measured. Detection and RTO are liveness results (a
// starved machine makes a breach INCONCLUSIVE, never FAILED); RPO is
// safety (an RPO of 0s also fails on any acknowledged message lost).
func ObjectiveResults(objs []config.Objective, f RealFigures) []check.Result {
	var out []check.Result
	for _, o := range objs {
		v := f.value(o.Name)
		if v == nil {
			continue
		}
		lim := o.D.Seconds()
		b := &check.Bound{Limit: lim, Unit: "s", Text: fmt.Sprintf("%s %s (objective, real time)", o.Field, o.D)}
		name, label := ObjectiveName(o.Name), config.ObjectiveLabel(o.Name)
		ok := *v <= lim
		measured := "never"
		if *v < check.Never {
			measured = bounds.Round(time.Duration(*v * float64(time.Second))).String()
		}
		if o.Name == config.ObjectiveRPO {
			ok = ok && (o.D > 0 || f.LostMessages == 0)
			r := check.Safe(name, ok, *v, "%s measured %s (%d acknowledged messages lost), projected to real time, %s the objective %s (%s)",
				label, measured, f.LostMessages, within(ok), o.D, o.Field)
			r.Unit, r.Bound = "s", b
			out = append(out, r)
			continue
		}
		r := check.Live(name, ok, *v, "%s measured %s, projected to real time, %s the objective %s (%s)", label, measured, within(ok), o.D, o.Field)
		r.Unit, r.Bound = "s", b
		out = append(out, r)
	}
	return out
}

func within(ok bool) string {
	if ok {
		return "within"
	}
	return "exceeds"
}

func (f RealFigures) value(objective string) *float64 {
	switch objective {
	case config.ObjectiveDetection:
		return f.Detection
	case config.ObjectiveRTO:
		return f.RTO
	case config.ObjectiveRPO:
		return f.RPO
	}
	return nil
}

// ObjectiveTable is the report's objective table of a row: for every
// objective in force, the objective, the config's estimate and the
// measurement (nil when the row did not measure it), all real time.
func ObjectiveTable(objs []config.Objective, est config.Estimate, f RealFigures) []reports.Objective {
	var out []reports.Objective
	for _, o := range objs {
		d, text, unbounded := est.Of(o.Name)
		row := reports.Objective{Name: o.Name, Field: o.Field, ObjectiveSeconds: o.D.Seconds(), Estimate: text}
		if !unbounded {
			s := d.Seconds()
			row.EstimateSeconds = &s
		}
		if v := f.value(o.Name); v != nil {
			m := *v
			row.MeasuredSeconds = &m
			row.Check = ObjectiveName(o.Name)
		}
		out = append(out, row)
	}
	return out
}

// judgeObjectives holds the row's measurements to the run's objectives
// (Env.Policy): it adds a result per objective measured, before the row is
// judged, and keeps the table the report shows. No policy, or a spec that
// is not a plan row: nothing.
func (r *Run) judgeObjectives() {
	p := r.Env.Policy
	if p == nil {
		return
	}
	objs := p.Objectives.For(r.Out.Label)
	if len(objs) == 0 {
		return
	}
	f := FiguresOf(r.Out.Checks, r.Env.TimeScale)
	r.Out.Checks = append(r.Out.Checks, ObjectiveResults(objs, f)...)
	r.Out.Objectives = ObjectiveTable(objs, p.Estimate, f)
}
