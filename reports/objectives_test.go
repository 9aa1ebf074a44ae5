package reports

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/agentops/failover-harness/harness/check"
)

func fp(v float64) *float64 { return &v }

// withObjectives gives plan-1 of the failing sample an RTO objective it
// breached, a detection objective it met and an RPO objective it did not
// measure.
func withObjectives() *Record {
	r := SampleWithFailure()
	for i := range r.Specs {
		s := &r.Specs[i]
		if s.PlanRow() != 1 {
			continue
		}
		s.Checks = append(s.Checks,
			check.Result{Name: "objective(rto)", Class: check.Liveness, Verdict: check.Failed, Value: 95.2, Unit: "s",
				Bound: &check.Bound{Limit: 60, Unit: "s", Text: "objectives.rto 1m0s (objective, real time)"}},
			check.Result{Name: "objective(detection)", Class: check.Liveness, OK: true, Verdict: check.Passed, Value: 31.5, Unit: "s",
				Bound: &check.Bound{Limit: 40, Unit: "s", Text: "objectives.detection 40s (objective, real time)"}})
		s.Objectives = []Objective{
			{Name: "detection", Field: "objectives.detection", ObjectiveSeconds: 40, EstimateSeconds: fp(33.1), Estimate: "33.1s = 10s lb.health.interval ...", MeasuredSeconds: fp(31.5), Check: "objective(detection)"},
			{Name: "rto", Field: "objectives.rto", ObjectiveSeconds: 60, EstimateSeconds: fp(104.14), Estimate: "1m44.1s = 30s lb.health.interval ...", MeasuredSeconds: fp(95.2), Check: "objective(rto)"},
			{Name: "rpo", Field: "objectives.rpo", ObjectiveSeconds: 0, Estimate: "unbounded (on-mutation)"},
		}
	}
	return r
}

// run.json keeps every objective beside its estimate and measurement, in
// snake_case, and reads them back.
func TestObjectivesInRunJSON(t *testing.T) {
	r := withObjectives()
	path := filepath.Join(t.TempDir(), "run.json")
	if err := r.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Specs, r.Specs) {
		t.Fatal("objectives changed in the round trip")
	}
	b, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	var objs []any
	for _, s := range m["specs"].([]any) {
		if o, ok := s.(map[string]any)["objectives"]; ok {
			objs = o.([]any)
		}
	}
	if len(objs) != 3 {
		t.Fatalf("objectives in run.json: %v", objs)
	}
	for _, k := range []string{"name", "field", "objective_seconds", "estimate_seconds", "estimate", "measured_seconds", "check"} {
		if _, ok := objs[1].(map[string]any)[k]; !ok {
			t.Errorf("objective lacks key %q: %v", k, objs[1])
		}
	}
	if rpo := objs[2].(map[string]any); rpo["estimate_seconds"] != nil || rpo["measured_seconds"] != nil {
		t.Errorf("an unbounded estimate and an unmeasured figure are null: %v", rpo)
	}
	// A negative figure is refused, naming the field.
	r.Specs[0].Objectives = []Objective{{Name: "rto", Field: "objectives.rto", ObjectiveSeconds: 60, MeasuredSeconds: fp(-1)}}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "specs[0].objectives[0].measured_seconds") {
		t.Errorf("negative measurement: %v", err)
	}
}

// The spec's card shows a table: objective, estimate, measured, verdict.
func TestRenderHTMLObjectives(t *testing.T) {
	out := render(t, withObjectives())
	if got := strings.Count(out, `<tr class="objective `); got != 3 {
		t.Fatalf("objective rows = %d, want 3", got)
	}
	row := func(field string) string {
		i := strings.Index(out, `data-objective="`+field+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", field)
		}
		return out[i : i+strings.Index(out[i:], "</tr>")]
	}
	rto := row("objectives.rto")
	for _, want := range []string{"RTO", "1 m 00 s", `class="num bad"`, "1 m 44 s", "1 m 35 s", `<span class="pill bad">failed</span>`} {
		if !strings.Contains(rto, want) {
			t.Errorf("rto row lacks %q: %s", want, rto)
		}
	}
	det := row("objectives.detection")
	for _, want := range []string{"detection", "40 s", "33.1 s", "31.5 s", `<span class="pill ok">passed</span>`} {
		if !strings.Contains(det, want) {
			t.Errorf("detection row lacks %q: %s", want, det)
		}
	}
	rpo := row("objectives.rpo")
	for _, want := range []string{"unbounded", "—", "not measured"} {
		if !strings.Contains(rpo, want) {
			t.Errorf("rpo row lacks %q: %s", want, rpo)
		}
	}
	if strings.Contains(render(t, SampleWithFailure()), `class="objectives"`) {
		t.Error("a record without objectives shows an objectives table")
	}
}
