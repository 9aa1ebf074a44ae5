package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/agentops/failover-harness/harness/check"
)

func sampleJSON(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(Sample())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "run.json") // parent created by Write
	want := SampleWithFailure()
	if err := want.Write(path); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, err := ReadRecord(path)
	if err != nil {
		t.Fatalf("ReadRecord: %v", err)
	}
	if !reflect.DeepEqual(got.Specs, want.Specs) {
		for i := range want.Specs {
			if !reflect.DeepEqual(got.Specs[i], want.Specs[i]) {
				t.Errorf("spec %d (%s) changed in round trip:\n got %+v\nwant %+v", i, want.Specs[i].Name, got.Specs[i], want.Specs[i])
			}
		}
	}
	if got.Seed != want.Seed || !got.StartedAt.Equal(want.StartedAt) || got.Machine != want.Machine {
		t.Errorf("header changed: got %+v", got)
	}
	// No temporary files left next to the record.
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only run.json", len(entries))
	}
}

func TestRunJSONFieldNames(t *testing.T) {
	// The field names are a contract with the harness (docs/ARCHITECTURE.md).
	var m map[string]any
	if err := json.Unmarshal(sampleJSON(t), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "started_at", "wall_seconds", "seed", "provider", "command", "machine", "config", "specs"} {
		if _, ok := m[k]; !ok {
			t.Errorf("run.json lacks top-level key %q", k)
		}
	}
	spec := m["specs"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "labels", "row", "expected", "verdict", "duration_seconds", "observed", "bounds", "projected", "faults", "events", "timeline",
		"checks", "health", "attempts", "seed"} {
		if _, ok := spec[k]; !ok {
			t.Errorf("spec lacks key %q", k)
		}
	}
	// plan-3 of the sample is inconclusive and kept its artifacts.
	inc := m["specs"].([]any)[2].(map[string]any)
	if inc["verdict"] != "inconclusive" || inc["artifacts"] == nil {
		t.Errorf("plan-3 verdict = %v, artifacts = %v; want inconclusive with an artifacts folder", inc["verdict"], inc["artifacts"])
	}
	health := inc["health"].(map[string]any)
	for _, k := range []string{"slack_seconds", "harness_lag_seconds", "harness_lag_at", "samples", "lb_lag_seconds", "lb_rounds", "starved", "reason"} {
		if _, ok := health[k]; !ok {
			t.Errorf("health lacks key %q", k)
		}
	}
	var bounded map[string]any
	for _, c := range spec["checks"].([]any) {
		c := c.(map[string]any)
		for _, k := range []string{"name", "class", "ok", "verdict", "value"} {
			if _, ok := c[k]; !ok {
				t.Errorf("check %v lacks key %q", c["name"], k)
			}
		}
		if c["name"] == "rto" {
			bounded = c
		}
	}
	if bounded == nil {
		t.Fatalf("plan-1 has no rto check")
	}
	b := bounded["bound"].(map[string]any)
	for _, k := range []string{"limit", "unit", "text", "projected", "projected_text"} {
		if _, ok := b[k]; !ok {
			t.Errorf("check bound lacks key %q", k)
		}
	}
	obs := spec["observed"].(map[string]any)
	for _, k := range []string{"detection_seconds", "rto_seconds", "rpo_messages", "rpo_seconds", "client_errors", "requests", "alerts"} {
		if _, ok := obs[k]; !ok {
			t.Errorf("observed lacks key %q", k)
		}
	}
	pt := spec["timeline"].([]any)[0].(map[string]any)
	for _, k := range []string{"t", "region", "ok", "errors"} {
		if _, ok := pt[k]; !ok {
			t.Errorf("timeline point lacks key %q", k)
		}
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := string(sampleJSON(t))
	mutate := func(f func(r *Record)) string {
		r := Sample()
		f(r)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name, in, want string
	}{
		{"empty", "  \n", "run.json: empty file"},
		{"truncated", good[:len(good)/2], "run.json: truncated or invalid JSON at byte "},
		{"garbage", `{"schema_version":2,,}`, "run.json: truncated or invalid JSON at byte 21"},
		{"future version", `{"schema_version":3,"specs":"whatever"}`, "run.json: schema_version 3 not supported (want 2)"},
		{"old version", `{"schema_version":1,"specs":[]}`, "run.json: schema_version 1 not supported (want 2)"},
		{"no version", `{"specs":[]}`, "run.json: schema_version missing (want 2)"},
		{"wrong type", `{"schema_version":2,"specs":[{"name":"x","verdict":"passed","row":"one"}]}`, "run.json: specs.row: got JSON string, want int"},
		{"wrong check type", `{"schema_version":2,"specs":[{"name":"x","verdict":"passed","checks":[{"name":"rto","ok":"yes"}]}]}`, "run.json: specs.checks.ok: got JSON string, want bool"},
		{"bad verdict", mutate(func(r *Record) { r.Specs[2].Verdict = "green" }), `run.json: specs[2].verdict: must be passed, failed, inconclusive or skipped (got "green")`},
		{"no name", mutate(func(r *Record) { r.Specs[4].Name = " " }), "run.json: specs[4].name: must not be empty"},
		{"row out of range", mutate(func(r *Record) { r.Specs[1].Row = 8 }), "run.json: specs[1].row: must be 0..7 (got 8)"},
		{"negative rto", mutate(func(r *Record) { r.Specs[0].Observed.RTOSeconds = -1 }), "run.json: specs[0].observed.rto_seconds: must be a finite number >= 0 (got -1)"},
		{"fault ends before start", mutate(func(r *Record) { r.Specs[3].Faults[0].End = 1 }), "run.json: specs[3].faults[0].end: must be >= start 3 (got 1)"},
		{"negative count", mutate(func(r *Record) { r.Specs[0].Timeline[5].OK = -2 }), "run.json: specs[0].timeline[5]: ok and errors must be >= 0 (got -2, 0)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRecord(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("DecodeRecord accepted bad input")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %q\nwant prefix %q", err, tc.want)
			}
		})
	}
}

func TestDecodeRecordAcceptsSample(t *testing.T) {
	r, err := DecodeRecord(bytes.NewReader(sampleJSON(t)))
	if err != nil {
		t.Fatalf("DecodeRecord(sample): %v", err)
	}
	if len(r.Specs) != PlanRows+10 {
		t.Errorf("decoded %d specs, want %d", len(r.Specs), PlanRows+10)
	}
}

// TestInconclusiveRoundTrip writes a record whose specs are inconclusive
// (starved, and a situation that never formed) and reads it back unchanged:
// verdicts, checks with their bounds and projections, health, attempts,
// seed and artifacts.
func TestInconclusiveRoundTrip(t *testing.T) {
	want := Sample()
	s := &want.Specs[2]
	if s.Verdict != Inconclusive || s.Health == nil || !s.Health.Starved {
		t.Fatalf("sample plan-3 = %s (health %+v), want inconclusive on a starved machine", s.Verdict, s.Health)
	}
	// A second inconclusive spec: the scenario's situation never formed.
	want.Specs[3].Checks[1].OK = false
	v, why := check.Judge(want.Specs[3].Checks, *want.Specs[3].Health)
	want.Specs[3].Verdict, want.Specs[3].Failure = Verdict(v), why
	if want.Specs[3].Verdict != Inconclusive {
		t.Fatalf("missing evidence judged %s, want inconclusive", v)
	}
	path := filepath.Join(t.TempDir(), "run.json")
	if err := want.Write(path); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, err := ReadRecord(path)
	if err != nil {
		t.Fatalf("ReadRecord: %v", err)
	}
	if !reflect.DeepEqual(got.Specs, want.Specs) { // Config's numbers come back as float64
		t.Fatalf("specs changed in round trip")
	}
	g := got.Specs[2]
	if g.Verdict != Inconclusive || g.Attempts != 2 || g.Seed != sampleRetrySeed || g.Artifacts == "" || !strings.Contains(g.Failure, "was starved") {
		t.Errorf("plan-3 after round trip: verdict %s attempts %d seed %d artifacts %q failure %q", g.Verdict, g.Attempts, g.Seed, g.Artifacts, g.Failure)
	}
	inc := g.ChecksWith(check.Inconclusive)
	if len(inc) != 3 {
		t.Fatalf("plan-3 inconclusive checks = %d, want 3 (its liveness checks)", len(inc))
	}
	for _, c := range inc {
		if c.Class != check.Liveness || c.Bound == nil && c.Name != "client-error-rate" {
			t.Errorf("inconclusive check %s: class %s, bound %+v", c.Name, c.Class, c.Bound)
		}
	}
	if d := g.DetectionCheck(); d == nil || d.Bound.ProjectedText == "" || d.Bound.Limit != g.Bounds.DetectionSeconds || d.Bound.Projected != g.Projected.DetectionSeconds {
		t.Errorf("plan-3 detection check %+v does not carry the record's bound %g and projection %+v", d, g.Bounds.DetectionSeconds, g.Projected)
	}
	if got.Specs[3].Verdict != Inconclusive || !strings.HasPrefix(got.Specs[3].Failure, "the scenario did not happen as planned:") {
		t.Errorf("plan-4 after round trip: %s %q", got.Specs[3].Verdict, got.Specs[3].Failure)
	}
	// The round trip loses nothing the report shows.
	var before, after bytes.Buffer
	if err := RenderHTML(&before, want); err != nil {
		t.Fatal(err)
	}
	if err := RenderHTML(&after, got); err != nil {
		t.Fatal(err)
	}
	if before.String() != after.String() {
		t.Errorf("the report of the record read back differs from the report of the record written")
	}
}

func TestDecodeRecordTestdata(t *testing.T) {
	// A hand-written minimal record, as another producer would write it.
	r, err := ReadRecord(filepath.Join("testdata", "minimal.json"))
	if err != nil {
		t.Fatalf("ReadRecord: %v", err)
	}
	if got := r.Specs[0].PlanRow(); got != 3 {
		t.Errorf("PlanRow() = %d, want 3 (from label plan-3)", got)
	}
	if r.Specs[1].PlanRow() != 0 || !r.Specs[1].HasLabel(ChecklistLabel) {
		t.Errorf("second spec should be a checklist item outside the plan")
	}
	s := r.Specs[2]
	if s.Verdict != Inconclusive || s.PlanRow() != 1 || s.Health == nil || !s.Health.Starved || s.Attempts != 2 || s.Artifacts == "" {
		t.Fatalf("third spec = %+v, want plan-1 inconclusive on a starved machine after 2 attempts", s)
	}
	if len(s.Checks) != 3 || CheckVerdict(s.Checks[0]) != check.Inconclusive || s.Checks[0].Bound == nil || s.Checks[0].Bound.ProjectedText == "" {
		t.Errorf("third spec checks = %+v", s.Checks)
	}
	// A producer that did not set per-check verdicts: derived like check.Judge.
	if CheckVerdict(s.Checks[2]) != check.Passed {
		t.Errorf("check without a verdict that is ok: %s, want passed", CheckVerdict(s.Checks[2]))
	}
}

func TestWriteRefusesInvalidRecord(t *testing.T) {
	r := Sample()
	r.Specs[0].Verdict = ""
	path := filepath.Join(t.TempDir(), "run.json")
	if err := r.Write(path); err == nil || !strings.Contains(err.Error(), "specs[0].verdict") {
		t.Fatalf("Write error = %v, want one naming specs[0].verdict", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("invalid record was written anyway")
	}
}

func TestReadRecordMissingFile(t *testing.T) {
	_, err := ReadRecord(filepath.Join(t.TempDir(), "nope.json"))
	if err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Fatalf("error = %v, want one naming the file", err)
	}
}
