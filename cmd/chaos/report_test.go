package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentops/failover-harness/reports"
)

func writeSample(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, reports.RecordFile)
	if err := reports.Sample().Write(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReportRendersSample(t *testing.T) {
	dir := t.TempDir()
	runJSON := writeSample(t, dir)
	want := reports.Sample()

	// -o after the positional argument, as the usage line shows it.
	dst := filepath.Join(t.TempDir(), "out.html")
	var out, errb bytes.Buffer
	if code := run([]string{"report", runJSON, "-o", dst}, &out, &errb); code != 0 {
		t.Fatalf("code %d stderr %q", code, errb.String())
	}
	page, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	var expect bytes.Buffer
	if err := reports.RenderHTML(&expect, want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(page, expect.Bytes()) {
		t.Fatalf("rendered page differs from reports.RenderHTML of the same record (%d vs %d bytes)", len(page), expect.Len())
	}
	if !strings.Contains(string(page), want.Specs[0].Name) || !strings.Contains(out.String(), dst) {
		t.Fatalf("page lacks the first spec, or stdout %q lacks the path", out.String())
	}

	// Default output: index.html beside run.json.
	out.Reset()
	if code := run([]string{"report", runJSON}, &out, &errb); code != 0 {
		t.Fatalf("default -o: code %d stderr %q", code, errb.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, reports.HTMLFile)); err != nil || !bytes.Equal(b, expect.Bytes()) {
		t.Fatalf("default output %s: err %v, %d bytes", reports.HTMLFile, err, len(b))
	}
}

func TestReportRejectsBadRecords(t *testing.T) {
	full, err := os.ReadFile(writeSample(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ data, want string }{
		"truncated":     {string(full[:len(full)/2]), "truncated"},
		"wrong version": {`{"schema_version": 99, "specs": []}`, "schema_version 99 not supported"},
	}
	for name, c := range cases {
		p := writeTemp(t, "run.json", c.data)
		dst := filepath.Join(t.TempDir(), "out.html")
		var out, errb bytes.Buffer
		code := run([]string{"report", p, "-o", dst}, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%s: code %d stderr %q, want 1 containing %q", name, code, errb.String(), c.want)
		}
		if _, err := os.Stat(dst); !os.IsNotExist(err) {
			t.Errorf("%s: output written despite the error (stat err %v)", name, err)
		}
	}
}

func TestReportUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"report", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "-o") {
		t.Fatalf("--help: code %d out %q", code, out.String())
	}
	for _, args := range [][]string{{"report"}, {"report", "a.json", "b.json"}, {"report", "a.json", "-o"}} {
		errb.Reset()
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: chaos report") {
			t.Errorf("%v: code %d stderr %q, want 2 with usage", args, code, errb.String())
		}
	}
}
