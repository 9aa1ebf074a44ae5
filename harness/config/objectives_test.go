package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// policy is the resiliency policy of issue 12: RTO 60s, RPO 0s, detection
// 40s, plan-5 allowed 90s.
const policy = `objectives:
  rto: 60s
  rpo: 0s
  detection: 40s
  rows:
    plan-5: {rto: 90s}
`

func example(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestObjectivesParse(t *testing.T) {
	c, issues := mustParse(t, base+policy)
	if issues = providerIgnored(issues); len(issues) != 0 {
		t.Fatalf("want no issues, got %v", issues)
	}
	o := c.Objectives
	if o == nil || o.RTO == nil || *o.RTO != time.Minute || o.RPO == nil || *o.RPO != 0 || o.Detection == nil || *o.Detection != 40*time.Second {
		t.Fatalf("objectives decoded wrong: %+v", o)
	}
	if r := o.Rows["plan-5"]; r.RTO == nil || *r.RTO != 90*time.Second || r.RPO != nil || r.Detection != nil {
		t.Fatalf("plan-5 override decoded wrong: %+v", r)
	}
	if l, want := c.Line("objectives.rows.plan-5.rto"), strings.Count(base, "\n")+6; l != want {
		t.Errorf("objectives.rows.plan-5.rto on line %d, want %d", l, want)
	}
	// plan-5: its own RTO, the file's detection and RPO; plan-1: the file's.
	got := map[string]Objective{}
	for _, x := range o.For("plan-5") {
		got[x.Name] = x
	}
	if got["rto"] != (Objective{Name: "rto", Field: "objectives.rows.plan-5.rto", D: 90 * time.Second}) ||
		got["detection"] != (Objective{Name: "detection", Field: "objectives.detection", D: 40 * time.Second}) ||
		got["rpo"] != (Objective{Name: "rpo", Field: "objectives.rpo", D: 0}) {
		t.Errorf("For(plan-5) = %+v", got)
	}
	if p1 := o.For("plan-1"); len(p1) != 3 || p1[1] != (Objective{Name: "rto", Field: "objectives.rto", D: time.Minute}) {
		t.Errorf("For(plan-1) = %+v", p1)
	}
	if x := o.For("checklist"); x != nil {
		t.Errorf("objectives apply to plan rows only, got %+v for checklist", x)
	}
	// Absent block: nil, no targets, no policy.
	c, _ = mustParse(t, base)
	if c.Objectives != nil || c.Objectives.For("plan-1") != nil || c.Policy() != nil || c.Assess() != nil {
		t.Errorf("no objectives block: %+v", c.Objectives)
	}
}

// Every bad objective is an error naming its field path and line; a value
// that does not decode is reported once (not echoed by a range check).
func TestObjectivesBadFields(t *testing.T) {
	for _, tc := range []struct {
		name, block, path, msg string
		line                   int
	}{
		{"rto zero", "objectives:\n  rto: 0s\n", "objectives.rto", "must be a positive duration (got 0s)", 2},
		{"detection negative", "objectives:\n  detection: -1s\n", "objectives.detection", "must be a positive duration (got -1s)", 2},
		{"rpo negative", "objectives:\n  rpo: -5s\n", "objectives.rpo", "must not be negative (got -5s)", 2},
		{"rto not a duration", "objectives:\n  rto: fast\n", "objectives.rto", `must be a Go duration such as 30s (got "fast")`, 2},
		{"unknown objective", "objectives:\n  mttr: 5m\n", "objectives.mttr", "unknown field (known fields here: rto, rpo, detection, rows)", 2},
		{"no such row", "objectives:\n  rows:\n    plan-9: {rto: 1m}\n", "objectives.rows.plan-9", "no such row (rows are plan-1 .. plan-7)", 3},
		{"not a row label", "objectives:\n  rows:\n    checklist: {rto: 1m}\n", "objectives.rows.checklist", "no such row", 3},
		{"row unknown field", "objectives:\n  rows:\n    plan-2: {rtt: 1m}\n", "objectives.rows.plan-2.rtt", "unknown field (known fields here: rto, rpo, detection)", 3},
		{"row rto zero", "objectives:\n  rows:\n    plan-2:\n      rto: 0s\n", "objectives.rows.plan-2.rto", "must be a positive duration (got 0s)", 4},
		{"row duplicate", "objectives:\n  rows:\n    plan-2: {rto: 1m}\n    plan-2: {rto: 2m}\n", "objectives.rows.plan-2", "duplicate key (first set on line", 4},
		{"rows not a mapping", "objectives:\n  rows: [plan-1]\n", "objectives.rows", "must be a mapping", 2},
		{"objectives not a mapping", "objectives: 60s\n", "objectives", "must be a mapping", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, issues := mustParse(t, base+tc.block)
			got, ok := find(issues, SeverityError, tc.path)
			if !ok || !strings.Contains(got.Msg, tc.msg) {
				t.Fatalf("want error on %s containing %q, got %v", tc.path, tc.msg, issues)
			}
			if want := strings.Count(base, "\n") + tc.line; got.Line != want {
				t.Errorf("error on line %d, want %d", got.Line, want)
			}
			if n := len(issues) - len(providerIgnored(issues)); len(issues)-n != 1 {
				t.Errorf("want exactly one issue besides the providers' warnings, got %v", issues)
			}
			if ObjectiveIssues(c, issues) != nil || Accepted(c, issues, Options{}) {
				t.Errorf("an invalid file is assessed or accepted")
			}
		})
	}
}

// Objectives are real time: a time-compressed config keeps them as they
// are, in a copy of its own.
func TestScaledKeepsObjectives(t *testing.T) {
	c, _ := mustParse(t, base+policy)
	s := c.Scaled(100)
	if s.LB.Health.Interval != 100*time.Millisecond {
		t.Fatalf("not scaled: %s", s.LB.Health.Interval)
	}
	if s.Objectives == c.Objectives || *s.Objectives.RTO != time.Minute || *s.Objectives.Rows["plan-5"].RTO != 90*time.Second {
		t.Fatalf("scaled objectives: %+v (shared: %v)", s.Objectives, s.Objectives == c.Objectives)
	}
	*s.Objectives.RTO = time.Second
	if *c.Objectives.RTO != time.Minute {
		t.Fatal("the scaled copy shares its objectives with the original")
	}
}

// The article's settings exceed every objective of the policy: each is an
// error naming the objective and the bound validate prints; the
// recommended ones meet them (detection 33.1s, RTO 53.14s, RPO 0).
func TestAssessObjectives(t *testing.T) {
	c, issues := mustParse(t, example(t, "article-production.yaml")+policy)
	if HasErrors(issues) {
		t.Fatalf("article + policy: %v", issues)
	}
	bad := ObjectiveIssues(c, issues)
	want := map[string]string{
		"objectives.detection":       "worst-case detection 1m34.1s (30s lb.health.interval (first failing round) + 1m0s 2 × lb.health round (max of interval, timeout) + 4s lb.health.timeout (last probe) + 100ms scheduling slack) exceeds the objective 40s",
		"objectives.rto":             "worst-case RTO 1m44.1s (30s lb.health.interval (first failing round) + 1m0s 2 × lb.health round (max of interval, timeout) + 4s lb.health.timeout (last probe) + 10s 1 × lb.retry.per_try_timeout (tries of a request in flight) + 40ms client resend pause + 100ms scheduling slack) exceeds the objective 1m0s",
		"objectives.rpo":             "worst-case RPO 5s (lost on failover: messages acknowledged in the last 5s before the failure) exceeds the objective 0s",
		"objectives.rows.plan-5.rto": "worst-case RTO 1m44.1s (",
	}
	if len(bad) != len(want) {
		t.Fatalf("want %d objective errors, got %v", len(want), bad)
	}
	for _, i := range bad {
		if w, ok := want[i.Path]; !ok || !strings.HasPrefix(i.Msg, w) || i.Severity != SeverityError || i.Line == 0 {
			t.Errorf("objective error %v, want on %s: %q", i, i.Path, w)
		}
	}
	if Accepted(c, issues, Options{}) {
		t.Error("article + policy accepted")
	}
	// The bound an objective is held to is the one Describe prints.
	var out bytes.Buffer
	Describe(&out, c, issues)
	for _, w := range []string{"RTO:          1m44.1s = ", "objectives.rto              1m0s     worst case 1m44.1s   EXCEEDED",
		"errors (4): objectives the worst-case bounds exceed", "line 55: objectives.rto: worst-case RTO 1m44.1s", "FAILED: 4 objective(s) exceeded"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("Describe lacks %q:\n%s", w, out.String())
		}
	}
	if strings.Contains(out.String(), "\nOK: ") {
		t.Errorf("Describe says OK:\n%s", out.String())
	}
	// JSON: the objectives, and their errors among the file's errors.
	r := NewReport("a.yaml", c, issues, Options{})
	if r.Valid || len(r.Errors) != 4 || r.Errors[1].Field != "objectives.rto" || r.Bounds == nil || len(r.Objectives) != 4 {
		t.Fatalf("report: %+v", r)
	}
	if o := r.Objectives[2]; o.Field != "objectives.rpo" || o.ObjectiveSeconds != 0 || o.EstimateSeconds == nil || *o.EstimateSeconds != 5 || o.Met {
		t.Errorf("rpo objective: %+v", o)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}

	// Recommended: every objective met, the file accepted.
	c, issues = mustParse(t, example(t, "recommended.yaml")+policy)
	if bad := ObjectiveIssues(c, issues); len(bad) != 0 || !Accepted(c, issues, Options{}) {
		t.Fatalf("recommended + policy: %v %v", bad, issues)
	}
	as := c.Assess()
	est := map[string]time.Duration{}
	for _, a := range as {
		est[a.Field] = a.Estimate
		if !a.Met {
			t.Errorf("%s not met: %+v", a.Field, a)
		}
	}
	if est["objectives.detection"] != 33100*time.Millisecond || est["objectives.rto"] != 53140*time.Millisecond || est["objectives.rpo"] != 0 {
		t.Errorf("recommended estimates: %v", est)
	}
	out.Reset()
	Describe(&out, c, issues)
	if !strings.Contains(out.String(), "objectives.rto              1m0s     worst case 53.14s    met") || !strings.Contains(out.String(), "\nOK: ") {
		t.Errorf("recommended Describe:\n%s", out.String())
	}

	// An unbounded RPO exceeds any RPO objective.
	src := strings.Replace(example(t, "recommended.yaml"), "checkpoint: {policy: on-ack}", "checkpoint: {policy: on-mutation}", 1)
	c, issues = mustParse(t, src+"objectives: {rpo: 1h}\n")
	bad = ObjectiveIssues(c, issues)
	if len(bad) != 1 || bad[0].Path != "objectives.rpo" || !strings.HasPrefix(bad[0].Msg, "worst-case RPO unbounded (") || !strings.HasSuffix(bad[0].Msg, "exceeds the objective 1h0m0s") {
		t.Errorf("unbounded RPO: %v", bad)
	}
}
