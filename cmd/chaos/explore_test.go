package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExploreUsageErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--duration", "10ms"}, "--duration"},
		{[]string{"--faults", "pause,meteor"}, `"meteor"`},
		{[]string{"--max-faults", "0"}, "--max-faults"},
		{[]string{"--runs", "0"}, "--runs"},
		{[]string{"--for", "-1s"}, "--for"},
		{[]string{"--provider", "k8s"}, "--provider"},
		{[]string{"--seed", "-3"}, "--seed"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"explore"}, c.args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: code %d stderr %q, want 2 naming %s", c.args, code, errb.String(), c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"explore", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "shrunk-seed-N.json") {
		t.Errorf("--help: code %d, stdout %q", code, out.String())
	}
}

// replay checks its file before it starts anything: a missing file, bad
// JSON, an unknown field and an impossible fault are usage errors naming
// the problem, and nothing is left on disk.
func TestReplayUsageErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "want one SCHEDULE.json"},
		{[]string{"a.json", "b.json"}, "want one SCHEDULE.json"},
		{[]string{"--runs", "0", "x.json"}, "--runs"},
		{[]string{filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{write("bad.json", "{")}, "bad.json"},
		{[]string{write("typo.json", `{"version":1,"duration":"1s","faultz":[]}`)}, "faultz"},
		{[]string{write("mars.json", `{"version":1,"duration":"2s","faults":[{"kind":"pause","region":"mars-1","at":"0s","for":"1s"}]}`)}, "faults[0].region"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"replay"}, c.args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: code %d stderr %q, want 2 naming %s", c.args, code, errb.String(), c.want)
		}
	}
	if _, err := os.Stat("reports/replay"); err == nil {
		t.Errorf("a refused replay left reports/replay behind")
	}
	var out, errb bytes.Buffer
	if code := run([]string{"replay", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "SCHEDULE.json") {
		t.Errorf("--help: code %d, stdout %q", code, out.String())
	}
}
