package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/journal"
	"github.com/agentops/failover-harness/harness/target"
	"github.com/agentops/failover-harness/reports"
)

// The external provider, proved on this machine: `chaos up --write-target`
// runs a docker topology and describes it; a second process SIGKILLed in
// the middle of a fault leaves it injected, `chaos heal` undoes it from the
// journal, and a second process then runs rows against the target through
// its hooks (503, failure rate, kill + cold start), skipping the rows whose
// settings the target does not run.
func TestExternalTargetFromDockerUpHealAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	skipWithoutDocker(t, ctx)
	for _, tool := range []string{"docker", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the written target's hooks call %s, which is not installed (scripts/ci-setup.sh installs curl)", tool)
		}
	}
	chaos, _, _ := buildChaos(t, ctx)
	dir := t.TempDir()
	tpath := filepath.Join(dir, "target.yaml")

	up, stdout, _ := startChaos(t, chaos, "up", "--provider", "docker", "--images", "local", "--write-target", tpath)
	upDone := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "target: ") {
				close(ready)
			}
		}
		upDone <- up.Wait()
	}()
	// First cleanup registered runs last: up stops (and removes its
	// containers) after everything else.
	t.Cleanup(func() {
		_ = up.Process.Signal(os.Interrupt)
		select {
		case err := <-upDone:
			if err != nil {
				t.Errorf("chaos up after Ctrl-C: %v", err)
			}
		case <-time.After(2 * time.Minute):
			t.Error("chaos up did not stop within 2m of Ctrl-C")
		}
		for _, f := range []string{tpath, tpath + ".env"} {
			if _, err := os.Stat(f); err == nil {
				t.Errorf("%s left after chaos up stopped", f)
			}
		}
	})
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("chaos up --write-target never wrote its target")
	}
	tf, err := target.Load(tpath)
	if err != nil {
		t.Fatalf("the written target does not load: %v", err)
	}
	env := os.Environ()
	secrets, err := os.ReadFile(tpath + ".env")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(tpath + ".env"); st.Mode().Perm() != 0o600 {
		t.Errorf("%s.env: mode %v, want 0600 (it holds the secrets)", tpath, st.Mode().Perm())
	}
	env = append(env, strings.Fields(string(secrets))...)
	run := func(args ...string) (*exec.Cmd, *strings.Builder) {
		cmd := exec.CommandContext(ctx, chaos, args...)
		cmd.Env = env
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd, &out
	}

	// 1. A run SIGKILLed while region A is paused leaves it paused.
	j := filepath.Join(dir, "killed", "heal-journal.jsonl")
	killed, kout := run("run", "--provider", "external", "--target", tpath, "--labels", "plan-1", "--out", filepath.Join(dir, "killed"))
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	a := tf.Regions[0]
	if !pollUntil(ctx, func() bool {
		left, _ := journal.Pending(j)
		return len(left) > 0 && paused(ctx, a.Vars["Container"])
	}) {
		_ = killed.Process.Kill()
		t.Fatalf("the run never paused %s with its undo journaled:\n%s", a.Name, kout)
	}
	if err := killed.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = killed.Wait()
	left, err := journal.Pending(j)
	if err != nil || len(left) == 0 {
		t.Fatalf("after SIGKILL the journal must hold the pause: %v %v", left, err)
	}
	t.Logf("after SIGKILL: %d change(s) left: %s", len(left), left[0].What)

	// 2. chaos heal undoes it: nothing paused, no toxic, no journal.
	heal, hout := run("heal", "--journal", j)
	if err := heal.Run(); err != nil {
		t.Fatalf("chaos heal: %v\n%s", err, hout)
	}
	for _, r := range tf.Regions {
		if paused(ctx, r.Vars["Container"]) {
			t.Errorf("%s still paused after chaos heal", r.Name)
		}
	}
	if n := toxics(t, tf.Toxiproxy.URL); n != 0 {
		t.Errorf("%d toxics left after chaos heal", n)
	}
	if _, err := os.Stat(j); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal %s kept after everything was healed", j)
	}

	// 3. From a second process, rows run through the hooks; the skew rows
	// ask for settings the target does not run and are skipped, not passed.
	out := filepath.Join(dir, "run")
	second, sout := run("run", "--provider", "external", "--target", tpath, "--labels", "plan-2,plan-3,plan-6,skew", "--out", out, "--retry-inconclusive", "1")
	err = second.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == exitInconclusive) {
		t.Fatalf("external run: %v (want every row passed, skipped or, on a starved machine, inconclusive)\n%s", err, sout)
	}
	rec, err := reports.ReadRecord(filepath.Join(out, reports.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Provider != "external" {
		t.Errorf("run.json provider %q, want external", rec.Provider)
	}
	skipped := 0
	for _, s := range rec.Specs {
		switch {
		case s.Verdict == reports.Failed:
			t.Errorf("%s FAILED against the docker target: %s", s.Name, s.Failure)
		case strings.HasPrefix(s.Labels[0], "skew"):
			if s.Verdict != reports.Skipped || !strings.Contains(s.Failure, "settings the target does not run") {
				t.Errorf("%s: %s %q, want skipped for the settings the target does not run", s.Name, s.Verdict, s.Failure)
			}
			skipped++
		}
	}
	if skipped != 4 {
		t.Errorf("%d skew rows skipped, want 4", skipped)
	}
	if _, err := os.Stat(filepath.Join(out, "heal-journal.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a run that healed everything kept its journal")
	}
}

func pollUntil(ctx context.Context, cond func() bool) bool {
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func paused(ctx context.Context, container string) bool {
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.State.Paused}}", container).Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

func toxics(t *testing.T, api string) int {
	t.Helper()
	resp, err := http.Get(strings.TrimRight(api, "/") + "/proxies")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var proxies map[string]struct {
		Enabled bool              `json:"enabled"`
		Toxics  []json.RawMessage `json:"toxics"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&proxies); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range proxies {
		n += len(p.Toxics)
		if !p.Enabled {
			n++
		}
	}
	return n
}
