package engine

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/config"
)

// rtoCheck is an rto result of a run compressed 100x: bound 0.5s of
// configuration plus 140ms of harness allowances, measured v seconds.
func rtoCheck(v float64) check.Result {
	b := bounds.Duration{Terms: []bounds.Term{
		{Name: "lb.health detection", D: 500 * time.Millisecond, Scaled: true},
		{Name: "client resend pause", D: 40 * time.Millisecond},
		{Name: "scheduling slack", D: 100 * time.Millisecond},
	}}
	r := check.Live("rto", v <= b.Total().Seconds(), v, "measured")
	r.Unit, r.Bound = "s", check.TimeBound(b)
	return r
}

func objective(name string, d time.Duration) config.Objective {
	return config.Objective{Name: name, Field: "objectives." + name, D: d}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// A measured figure is projected as its bound is: the part beyond the
// allowances times the scale, the allowances as they are.
func TestProjectKeepsAllowances(t *testing.T) {
	c := rtoCheck(0.64)
	if got := Project(c.Value, c.Bound, 100); !near(got, 50.14) {
		t.Errorf("Project(0.64s, 100x) = %v, want 50.14 (0.5s x 100 + 0.14s)", got)
	}
	if got := Project(0.1, c.Bound, 100); !near(got, 0.1) {
		t.Errorf("a figure within the allowances stays as measured, got %v", got)
	}
	if got := Project(2, nil, 100); !near(got, 200) {
		t.Errorf("without a bound the figure scales, got %v", got)
	}
	if got := Project(check.Never, c.Bound, 100); got != check.Never {
		t.Errorf("never stays never, got %v", got)
	}
	if got := Project(0.64, c.Bound, 1); got != 0.64 {
		t.Errorf("an uncompressed run is real time already, got %v", got)
	}
	// Within its bound, the projection stays within the bound's projection.
	d, _ := c.Bound.Duration()
	if Project(d.Total().Seconds(), c.Bound, 100) > d.Project(100).Seconds()+1e-9 {
		t.Error("a figure at its bound projects past the bound's projection")
	}
}

// RTO above its objective fails; within it passes; on a starved machine the
// breach is inconclusive (liveness), never failed.
func TestObjectiveResultsRTO(t *testing.T) {
	f := FiguresOf([]check.Result{rtoCheck(0.64)}, 100) // 50.14s in real time
	if f.RTO == nil || !near(*f.RTO, 50.14) || f.Detection != nil || f.RPO != nil {
		t.Fatalf("figures: %+v", f)
	}
	kept := check.Health{Slack: 0.1}
	kept.Assess()
	starved := check.Health{Slack: 0.1, HarnessLag: 0.2}
	starved.Assess()

	over := ObjectiveResults([]config.Objective{objective("rto", 45*time.Second)}, f)
	if len(over) != 1 || over[0].Name != "objective(rto)" || over[0].OK || over[0].Class != check.Liveness || over[0].Bound.Limit != 45 || !near(over[0].Value, 50.14) {
		t.Fatalf("rto over its objective: %+v", over)
	}
	if v, _ := check.Judge(over, kept); v != check.Failed {
		t.Errorf("RTO over its objective on a machine that kept time: %s, want failed", v)
	}
	if v, _ := check.Judge(over, starved); v != check.Inconclusive {
		t.Errorf("RTO over its objective on a starved machine: %s, want inconclusive", v)
	}
	within := ObjectiveResults([]config.Objective{objective("rto", 60*time.Second)}, f)
	if len(within) != 1 || !within[0].OK {
		t.Fatalf("rto within its objective: %+v", within)
	}
	if v, _ := check.Judge(within, kept); v != check.Passed {
		t.Errorf("RTO within its objective: %s, want passed", v)
	}
	// A row that does not measure a figure is not held to its objective.
	if r := ObjectiveResults([]config.Objective{objective("detection", time.Second)}, f); len(r) != 0 {
		t.Errorf("detection not measured, got %+v", r)
	}
}

// Detection takes the slowest region's; a region never detected breaches.
func TestObjectiveResultsDetection(t *testing.T) {
	det := func(region string, v float64) check.Result {
		r := check.Live("detection-time("+region+")", true, v, "")
		r.Bound = check.TimeBound(bounds.Duration{Terms: []bounds.Term{{Name: "cfg", D: time.Second, Scaled: true}, {Name: "scheduling slack", D: 100 * time.Millisecond}}})
		return r
	}
	f := FiguresOf([]check.Result{det("a", 0.3), det("b", 0.5)}, 100) // 0.1 + 0.4 x 100
	if f.Detection == nil || !near(*f.Detection, 40.1) {
		t.Fatalf("detection: %+v", f)
	}
	if r := ObjectiveResults([]config.Objective{objective("detection", 40*time.Second)}, f); len(r) != 1 || r[0].OK {
		t.Errorf("40.1s against 40s: %+v", r)
	}
	f = FiguresOf([]check.Result{det("a", 0.3), det("b", check.Never)}, 100)
	if r := ObjectiveResults([]config.Objective{objective("detection", time.Hour)}, f); len(r) != 1 || r[0].OK || r[0].Value != check.Never {
		t.Errorf("never detected: %+v", r)
	}
}

// RPO is safety: a breach fails even on a starved machine; an RPO of 0s
// fails on any acknowledged message lost.
func TestObjectiveResultsRPO(t *testing.T) {
	lost := func(n int, span float64) []check.Result {
		return []check.Result{check.Safe("no-acked-message-lost", n == 0, float64(n), ""), check.Safe("rpo", true, span, "")}
	}
	starved := check.Health{Slack: 0.1, HarnessLag: 0.2}
	starved.Assess()
	f := FiguresOf(lost(1, 0), 100)
	r := ObjectiveResults([]config.Objective{objective("rpo", 0)}, f)
	if len(r) != 1 || r[0].OK || r[0].Class != check.Safety {
		t.Fatalf("one message lost against RPO 0s: %+v", r)
	}
	if v, _ := check.Judge(r, starved); v != check.Failed {
		t.Errorf("RPO breach on a starved machine: %s, want failed", v)
	}
	f = FiguresOf(lost(3, 0.05), 100) // 5s of conversation in real time
	if r := ObjectiveResults([]config.Objective{objective("rpo", 4*time.Second)}, f); len(r) != 1 || r[0].OK || !near(r[0].Value, 5) {
		t.Errorf("5s lost against RPO 4s: %+v", r)
	}
	if r := ObjectiveResults([]config.Objective{objective("rpo", 5*time.Second)}, f); len(r) != 1 || !r[0].OK {
		t.Errorf("5s lost against RPO 5s: %+v", r)
	}
	if r := ObjectiveResults([]config.Objective{objective("rpo", 0)}, FiguresOf(lost(0, 0), 100)); len(r) != 1 || !r[0].OK {
		t.Errorf("nothing lost against RPO 0s: %+v", r)
	}
}

// The engine holds a plan row to its objectives (row overrides applied)
// when it concludes it, and keeps the objective / estimate / measured table
// for the report; a spec outside the plan is not held to them.
func TestConcludeJudgesObjectives(t *testing.T) {
	c, issues, err := config.Parse([]byte(`regions: [{name: a, weight: 1}, {name: b, weight: 1}]
objectives:
  rto: 45s
  rows:
    plan-5: {rto: 90s}
`))
	if err != nil || config.HasErrors(issues) {
		t.Fatalf("parse: %v %v", err, issues)
	}
	body := func(ctx context.Context, r *Run) error { r.Out.Add(rtoCheck(0.64)); return nil }
	env := func() *Env {
		return &Env{TimeScale: 100, Policy: c.Policy(), Defer: func(string, HealFunc) {}}
	}
	o, err := Row{N: 1, Label: "plan-1", Spec: "row one", Body: body}.Run(context.Background(), env())
	if err != nil {
		t.Fatal(err)
	}
	res, ok := o.Check("objective(rto)")
	if !ok || res.OK {
		t.Fatalf("plan-1: 50.14s against 45s: %+v", o.Checks)
	}
	want := check.Failed
	if o.Health.Starved {
		want = check.Inconclusive // this machine was starved meanwhile: a liveness breach is not judged
	}
	if o.Verdict != want || res.Verdict != want {
		t.Errorf("plan-1 verdict %s (objective %s), want %s: %s", o.Verdict, res.Verdict, want, o.Why)
	}
	sp := o.Spec()
	if len(sp.Objectives) != 1 {
		t.Fatalf("plan-1 objectives in the record: %+v", sp.Objectives)
	}
	ob := sp.Objectives[0]
	est := c.Estimate().RTO.Total().Seconds()
	if ob.Field != "objectives.rto" || ob.ObjectiveSeconds != 45 || ob.EstimateSeconds == nil || *ob.EstimateSeconds != est ||
		ob.MeasuredSeconds == nil || !near(*ob.MeasuredSeconds, 50.14) || ob.Check != "objective(rto)" {
		t.Errorf("plan-1 objective row: %+v", ob)
	}

	o, _ = Row{N: 5, Label: "plan-5", Spec: "row five", Body: body}.Run(context.Background(), env())
	if res, ok := o.Check("objective(rto)"); !ok || !res.OK || o.Objectives[0].Field != "objectives.rows.plan-5.rto" {
		t.Errorf("plan-5: 50.14s against its own 90s: %+v %+v", o.Checks, o.Objectives)
	}

	o, _ = Row{Label: "checklist", Spec: "a checklist item", Body: body}.Run(context.Background(), env())
	if _, ok := o.Check("objective(rto)"); ok || o.Objectives != nil {
		t.Errorf("a checklist spec held to objectives: %+v", o.Checks)
	}
}
