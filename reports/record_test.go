package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
		t.Errorf("specs changed in round trip")
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
	for _, k := range []string{"name", "labels", "row", "expected", "verdict", "duration_seconds", "observed", "bounds", "projected", "faults", "events", "timeline"} {
		if _, ok := spec[k]; !ok {
			t.Errorf("spec lacks key %q", k)
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
		{"garbage", `{"schema_version":1,,}`, "run.json: truncated or invalid JSON at byte 21"},
		{"future version", `{"schema_version":2,"specs":"whatever"}`, "run.json: schema_version 2 not supported (want 1)"},
		{"no version", `{"specs":[]}`, "run.json: schema_version missing (want 1)"},
		{"wrong type", `{"schema_version":1,"specs":[{"name":"x","verdict":"passed","row":"one"}]}`, "run.json: specs.row: got JSON string, want int"},
		{"bad verdict", mutate(func(r *Record) { r.Specs[2].Verdict = "green" }), `run.json: specs[2].verdict: must be passed, failed or skipped (got "green")`},
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
