package reports

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func decodeJUnit(t *testing.T, r *Record) (junitSuites, string) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatalf("WriteJUnit: %v", err)
	}
	var doc junitSuites
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("junit.xml does not decode: %v\n%s", err, b.String())
	}
	return doc, b.String()
}

func TestWriteJUnit(t *testing.T) {
	r := SampleWithFailure()
	r.Specs[9].Verdict = Skipped
	doc, raw := decodeJUnit(t, r)
	if !strings.HasPrefix(raw, "<?xml") {
		t.Errorf("junit.xml lacks the XML declaration")
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("testsuite elements = %d, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Tests != len(r.Specs) || len(s.Cases) != len(r.Specs) || doc.Tests != len(r.Specs) {
		t.Errorf("tests = %d/%d cases %d, want %d", doc.Tests, s.Tests, len(s.Cases), len(r.Specs))
	}
	// plan-3 is inconclusive: skipped, as is the checklist item marked skipped.
	if s.Failures != 1 || doc.Failures != 1 || s.Skipped != 2 || doc.Skipped != 2 || s.Errors != 0 {
		t.Errorf("failures %d/%d skipped %d/%d errors %d, want 1, 2 and 0", doc.Failures, s.Failures, doc.Skipped, s.Skipped, s.Errors)
	}
	if s.Time != secs(r.WallSeconds) || s.Timestamp != "2026-03-14T09:26:53" {
		t.Errorf("suite time = %q timestamp = %q", s.Time, s.Timestamp)
	}
	c := s.Cases[0]
	if c.Name != r.Specs[0].Name || c.Classname != "failover-harness.plan-1" || c.Time != "16.200" {
		t.Errorf("case 0 = %+v", c)
	}
	if c.Failure == nil {
		t.Fatalf("failed spec has no <failure>")
	}
	if c.Failure.Message != firstLine(r.Specs[0].Failure) || !strings.HasPrefix(c.Failure.Message, "rto: a user waited 2.6s") || c.Failure.Type != "CheckFailed" {
		t.Errorf("failure message = %q", c.Failure.Message)
	}
	if !strings.Contains(c.Failure.Body, "history excerpt:") || !strings.Contains(c.Failure.Body, `"missing":["m-0007-031"]`) {
		t.Errorf("failure body lacks the history excerpt: %q", c.Failure.Body)
	}
	// The failed checks, with the bound each was held to.
	rto := r.Specs[0].RTOCheck()
	for _, want := range []string{
		"\n\nfailed checks:\n- [FAILED] liveness rto: 2.6 s; bound " + rto.Bound.Text + "; in real time " + rto.Bound.ProjectedText + "\n    a user waited 2.6s",
		"- [FAILED] safety no-acked-message-lost: 1\n    1 acknowledged messages lost (m-0007-031)",
		"- [FAILED] safety rpo: 31 ms; bound 0s (checkpoint policy: none",
		"- [FAILED] safety ack-implies-durable: 1\n",
	} {
		if !strings.Contains(c.Failure.Body, want) {
			t.Errorf("failure body lacks %q:\n%s", want, c.Failure.Body)
		}
	}
	if strings.Contains(c.Failure.Body[:strings.Index(c.Failure.Body, "history excerpt:")], "[PASSED]") {
		t.Errorf("failure body lists checks that passed among the failed ones")
	}
	if s.Cases[1].Failure != nil || s.Cases[1].Skipped != nil || s.Cases[9].Skipped == nil || s.Cases[9].Failure != nil {
		t.Errorf("passed case has a failure or skipped case is not marked")
	}
	out := s.Cases[1].SystemOut
	for _, want := range []string{"detect 950 ms ≤ 1.2s", "real time: detect bound 1m50.1s", "harness health: machine kept time", "attempts: 1", "seed: 42",
		"checks:\n- [PASSED] evidence traffic-before-fault(us-east-1): 61\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("system-out of plan-2 lacks %q: %q", want, out)
		}
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["seed"] != "42" || props["replay"] != "make chaos SEED=42" {
		t.Errorf("properties = %v", props)
	}
}

// TestWriteJUnitInconclusive: an inconclusive spec is neither a pass nor a
// failure: <skipped message="INCONCLUSIVE: first line">, counted as skipped,
// its whole reason, figures and checks in system-out.
func TestWriteJUnitInconclusive(t *testing.T) {
	r := Sample()
	doc, raw := decodeJUnit(t, r)
	s := doc.Suites[0]
	if s.Failures != 0 || s.Skipped != 1 || doc.Skipped != 1 || doc.Failures != 0 {
		t.Errorf("failures %d skipped %d, want 0 and 1", s.Failures, s.Skipped)
	}
	c := s.Cases[2]
	spec := r.Specs[2]
	if c.Failure != nil || c.Skipped == nil {
		t.Fatalf("inconclusive case: failure %v skipped %v", c.Failure, c.Skipped)
	}
	if want := "INCONCLUSIVE: " + firstLine(spec.Failure); c.Skipped.Message != want || !strings.HasPrefix(want, "INCONCLUSIVE: 3 liveness checks not judged: machine was starved") {
		t.Errorf("skipped message = %q, want %q", c.Skipped.Message, want)
	}
	if !strings.Contains(raw, `<skipped message="INCONCLUSIVE: 3 liveness checks not judged: machine was starved: harness timers up to 183ms late`) {
		t.Errorf("junit.xml lacks the skipped element with its message")
	}
	for _, want := range []string{
		"INCONCLUSIVE (not a failure of the system under test): " + spec.Failure,
		"detect 2.9 s ≤ 2.7s", "real time: detect bound 4m20.1s",
		"harness health: machine was starved", "attempts: 2", "seed: 133062322", "artifacts: reports/out/artifacts/plan-3",
		"- [INCONCLUSIVE] liveness detection-time(us-east-1): 2.9 s; bound 2.7s = ",
		"- [PASSED] safety no-acked-message-lost: 0",
	} {
		if !strings.Contains(c.SystemOut, want) {
			t.Errorf("system-out lacks %q:\n%s", want, c.SystemOut)
		}
	}
	// A reason that spans lines: the message holds the first, system-out all.
	r.Specs[2].Failure = "the scenario did not happen as planned:\nsplit-brain-formed: 0 sessions"
	doc, _ = decodeJUnit(t, r)
	c = doc.Suites[0].Cases[2]
	if c.Skipped.Message != "INCONCLUSIVE: the scenario did not happen as planned:" || !strings.Contains(c.SystemOut, "split-brain-formed: 0 sessions") {
		t.Errorf("multi-line reason: message %q, system-out %q", c.Skipped.Message, c.SystemOut)
	}
	// A plain skipped spec says why when the record does, and is not INCONCLUSIVE.
	r.Specs[5].Verdict, r.Specs[5].Failure = Skipped, "not run: the run was interrupted"
	doc, _ = decodeJUnit(t, r)
	if c := doc.Suites[0].Cases[5]; c.Skipped == nil || c.Skipped.Message != "not run: the run was interrupted" || c.SystemOut != "" {
		t.Errorf("skipped case = %+v", c)
	}
}

func TestWriteJUnitEscapesAndInvalidChars(t *testing.T) {
	r := SampleWithFailure()
	r.Specs[0].Name = `<script>"x"</script> & ]]>`
	r.Specs[0].Failure = "bad \x00\x1b byte & <tag>\nsecond line"
	doc, _ := decodeJUnit(t, r)
	c := doc.Suites[0].Cases[0]
	if c.Name != r.Specs[0].Name {
		t.Errorf("name round trip = %q, want %q", c.Name, r.Specs[0].Name)
	}
	if c.Failure.Message != "bad \uFFFD\uFFFD byte & <tag>" {
		t.Errorf("failure message = %q (first line, invalid XML chars replaced)", c.Failure.Message)
	}
	if err := WriteJUnit(&bytes.Buffer{}, nil); err == nil {
		t.Errorf("WriteJUnit(nil) should fail")
	}
}
