package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// objectivesBlock is issue 12's resiliency policy.
const objectivesBlock = `objectives:
  rto: 60s
  rpo: 0s
  detection: 40s
`

// withObjectives is an example file with the policy appended, in a temp file.
func withObjectives(t *testing.T, example string) string {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, example))
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "policy.yaml", string(b)+objectivesBlock)
}

// The article's settings cannot meet RTO 60s, RPO 0s, detection 40s: each
// objective is an error naming the objective and the bound validate prints,
// and validate exits 1.
func TestValidateObjectivesExceeded(t *testing.T) {
	path := withObjectives(t, "examples/article-production.yaml")
	var out, errb bytes.Buffer
	code := run([]string{"validate", path}, &out, &errb)
	if code != 1 {
		t.Fatalf("code %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"RTO:          1m44.1s = ", // the bound printed is the bound held to the objective
		"line 55: objectives.rto: worst-case RTO 1m44.1s (30s lb.health.interval (first failing round) + 1m0s 2 × lb.health round (max of interval, timeout) + 4s lb.health.timeout (last probe) + 10s 1 × lb.retry.per_try_timeout (tries of a request in flight) + 40ms client resend pause + 100ms scheduling slack) exceeds the objective 1m0s",
		"line 57: objectives.detection: worst-case detection 1m34.1s (",
		") exceeds the objective 40s",
		"line 56: objectives.rpo: worst-case RPO 5s (lost on failover: messages acknowledged in the last 5s before the failure) exceeds the objective 0s",
		"FAILED: 3 objective(s) exceeded by the worst-case bounds",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "\nOK: ") {
		t.Errorf("output says OK:\n%s", out.String())
	}

	// JSON: not valid, the objectives beside their estimates, each breach an error.
	out.Reset()
	if code := run([]string{"validate", "--format", "json", path}, &out, &errb); code != 1 {
		t.Fatalf("json: code %d, want 1\n%s", code, out.String())
	}
	r := decodeReports(t, out.Bytes())[0]
	if r["valid"] != false || r["bounds"] == nil {
		t.Fatalf("json report: %v", r)
	}
	errs := map[string]string{}
	for _, e := range r["errors"].([]any) {
		e := e.(map[string]any)
		errs[e["field"].(string)] = e["message"].(string)
	}
	if !strings.HasPrefix(errs["objectives.rto"], "worst-case RTO 1m44.1s (") || !strings.HasSuffix(errs["objectives.rto"], "exceeds the objective 1m0s") ||
		!strings.Contains(errs["objectives.detection"], "exceeds the objective 40s") || !strings.Contains(errs["objectives.rpo"], "exceeds the objective 0s") {
		t.Errorf("json errors: %v", errs)
	}
	objs := r["objectives"].([]any)
	if len(objs) != 3 {
		t.Fatalf("json objectives: %v", objs)
	}
	rto := objs[1].(map[string]any)
	if rto["field"] != "objectives.rto" || rto["objective_seconds"] != 60.0 || rto["estimate_seconds"] != 104.14 || rto["met"] != false {
		t.Errorf("json rto objective: %v", rto)
	}
}

// The recommended settings meet the same objectives (detection 33.1s, RTO
// 53.14s, RPO 0s): validate exits 0 and says so.
func TestValidateObjectivesMet(t *testing.T) {
	path := withObjectives(t, "examples/recommended.yaml")
	var out, errb bytes.Buffer
	if code := run([]string{"validate", path}, &out, &errb); code != 0 {
		t.Fatalf("code %d, want 0\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"objectives.detection  40s      worst case 33.1s     met", "objectives.rto        1m0s     worst case 53.14s    met",
		"objectives.rpo        0s       worst case 0s        met", "OK: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"validate", "--format", "json", path}, &out, &errb); code != 0 {
		t.Fatalf("json: code %d, want 0\n%s", code, out.String())
	}
	if r := decodeReports(t, out.Bytes())[0]; r["valid"] != true || len(r["errors"].([]any)) != 0 || len(r["objectives"].([]any)) != 3 {
		t.Fatalf("json report: %v", r)
	}
}

// A bad objective is a config error naming its field path.
func TestValidateObjectivesBadField(t *testing.T) {
	for src, want := range map[string]string{
		"objectives:\n  rto: 0s\n":                      "objectives.rto: must be a positive duration (got 0s)",
		"objectives:\n  rows:\n    plan-9: {rto: 1m}\n": "objectives.rows.plan-9: no such row (rows are plan-1 .. plan-7)",
		"objectives:\n  rpo: -1s\n":                     "objectives.rpo: must not be negative (got -1s)",
		"objectives:\n  mttr: 1m\n":                     "objectives.mttr: unknown field",
	} {
		var out, errb bytes.Buffer
		code := run([]string{"validate", writeTemp(t, "bad.yaml", route53+src)}, &out, &errb)
		if code != 1 || !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "INVALID: 1 error(s)") {
			t.Errorf("%q: code %d, want 1 naming %q:\n%s%s", src, code, want, out.String(), errb.String())
		}
	}
}
