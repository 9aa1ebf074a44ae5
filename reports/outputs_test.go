package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteOutputs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reports", "out")
	if err := WriteOutputs(dir, SampleWithFailure()); err != nil {
		t.Fatalf("WriteOutputs: %v", err)
	}
	r, err := ReadRecord(filepath.Join(dir, RecordFile))
	if err != nil {
		t.Fatalf("run.json unreadable: %v", err)
	}
	if r.Specs[0].Verdict != Failed {
		t.Errorf("run.json lost the failed verdict")
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil || !strings.Contains(string(page), ">FAILED<") {
		t.Errorf("index.html missing or not showing the failure (err %v)", err)
	}
	junit, err := os.ReadFile(filepath.Join(dir, JUnitFile))
	if err != nil || !strings.Contains(string(junit), `failures="1"`) {
		t.Errorf("junit.xml missing or without the failure (err %v)", err)
	}
	bad := Sample()
	bad.Specs[0].Verdict = "meh"
	if err := WriteOutputs(t.TempDir(), bad); err == nil || !strings.Contains(err.Error(), "specs[0].verdict") {
		t.Errorf("WriteOutputs(invalid) error = %v, want one naming specs[0].verdict", err)
	}
}
