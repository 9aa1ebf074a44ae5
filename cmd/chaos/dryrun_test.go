package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// A dry run prints the plan's changes to the target, hooks rendered and
// toxics named, in row order, and touches nothing: no request reaches the
// target's LB, regions or toxiproxy, and no hook runs.
func TestDryRunPrintsEveryChangeAndTouchesNothing(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	hook := func(what string) string { return `{command: "echo ` + what + ` {{.Region}} >> ` + marker + `"}` }
	tf := filepath.Join(dir, "target.yaml")
	body := "lb: {url: " + srv.URL + "}\nadmin_token_env: CHAOS_TEST_ADMIN\n" +
		"regions:\n" +
		"  - {name: us-east-1, url: " + srv.URL + "/a}\n" +
		"  - {name: eu-west-1, url: " + srv.URL + "/b}\n" +
		"  - {name: ap-southeast-1, url: " + srv.URL + "/c}\n" +
		"toxiproxy: {url: " + srv.URL + "/toxiproxy}\n" +
		"hooks:\n  pause: " + hook("pause") + "\n  resume: " + hook("resume") + "\n  kill: " + hook("kill") + "\n  start: " + hook("start") + "\n"
	if err := os.WriteFile(tf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHAOS_TEST_ADMIN", "secret")
	var out, errb bytes.Buffer
	code := run([]string{"run", "--provider", "external", "--target", tf, "--dry-run", "--labels", "plan-1,plan-4,plan-6,plan-7,skew"}, &out, &errb)
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"plan-1: when region A becomes unresponsive",
		"hooks.pause us-east-1: echo pause us-east-1",
		"(journaled first, the undo: hooks.resume: echo resume us-east-1",
		"toxiproxy " + srv.URL + "/toxiproxy: add timeout toxic chaos_timeout_upstream_",
		"to proxy lb->us-east-1",
		"remove toxic chaos_timeout_upstream_",
		// plan-6 needs a cold start the target has no hook for
		"SKIPPED: kill-restart(us-east-1,cold): region us-east-1: the target has no hooks.start_cold",
		"hooks.kill us-east-1: echo kill us-east-1",
		"SKIPPED: the row needs settings the target does not run: SessionTTL",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, got)
		}
	}
	if i, j := strings.Index(got, "plan-1:"), strings.Index(got, "plan-4:"); i < 0 || j < i {
		t.Errorf("rows out of plan order:\n%s", got)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the dry run sent %d requests to the target", n)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the dry run ran a hook")
	}
	if _, err := os.Stat(filepath.Join(dir, "heal-journal.jsonl")); err == nil {
		t.Errorf("the dry run wrote a journal")
	}
}
