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
	if s.Failures != 1 || doc.Failures != 1 || s.Skipped != 1 || doc.Skipped != 1 {
		t.Errorf("failures %d/%d skipped %d/%d, want 1 and 1", doc.Failures, s.Failures, doc.Skipped, s.Skipped)
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
	if !strings.HasPrefix(c.Failure.Message, "acknowledged message lost") {
		t.Errorf("failure message = %q", c.Failure.Message)
	}
	if !strings.Contains(c.Failure.Body, "history excerpt:") || !strings.Contains(c.Failure.Body, `"missing":["m-0007-031"]`) {
		t.Errorf("failure body lacks the history excerpt: %q", c.Failure.Body)
	}
	if s.Cases[1].Failure != nil || s.Cases[9].Skipped == nil {
		t.Errorf("passed case has a failure or skipped case is not marked")
	}
	if !strings.Contains(s.Cases[1].SystemOut, "real time: detect") {
		t.Errorf("plan figures missing from system-out: %q", s.Cases[1].SystemOut)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["seed"] != "42" || props["replay"] != "make chaos SEED=42" {
		t.Errorf("properties = %v", props)
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
