package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentops/failover-harness/reports"
)

func TestSoakUsageErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--runs", "0"}, "--runs"},
		{[]string{"--cpu-load", "-1"}, "--cpu-load"},
		{[]string{"--provider", "k8s"}, "--provider"},
		{[]string{"--labels", "plan-9"}, "--labels"},
		{[]string{"--retry-inconclusive", "11"}, "--retry-inconclusive"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"soak"}, c.args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: code %d stderr %q, want 2 naming %s", c.args, code, errb.String(), c.want)
		}
	}
}

// A soak with the CPU loaded runs the plan, prints the per-spec table, writes
// soak.json, and stops its busy-loop processes: none outlives it.
func TestSoakTabulatesAndStopsItsLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts topologies")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin, _, env := buildChaos(t, ctx)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "soak", "--runs", "2", "--labels", "checklist", "--provider", "local",
		"--cpu-load", "1", "--out", out, "--retry-inconclusive", "2")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	code := 0
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	if code != 0 && code != exitInconclusive {
		t.Fatalf("exit %d, want 0 (or 3 on a starved machine)", code)
	}
	for _, want := range []string{"soak: 2 runs, provider local", "| checklist |", "| total     | 10 spec runs"} {
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("table lacks %q", want)
		}
	}
	var sj struct {
		Runs    int `json:"runs"`
		CPULoad int `json:"cpu_load"`
	}
	b, err := os.ReadFile(filepath.Join(out, "soak.json"))
	if err != nil || json.Unmarshal(b, &sj) != nil || sj.Runs != 2 || sj.CPULoad != 1 {
		t.Fatalf("soak.json %s (%v), want runs 2, cpu_load 1", b, err)
	}
	if _, err := reports.ReadRecord(filepath.Join(out, "run-2", reports.RecordFile)); err != nil {
		t.Fatalf("run-2's record: %v", err)
	}
	if pids := childrenNamed(t, "burn"); len(pids) > 0 {
		t.Fatalf("busy-loop processes still running after the soak: %v", pids)
	}
}

// childrenNamed lists PIDs of processes whose command line holds "chaos"
// and word, e.g. the soak's burners.
func childrenNamed(t *testing.T, word string) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 1 && filepath.Base(args[0]) == "chaos" && args[1] == word {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestVerdictExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, verdicts ...reports.Verdict) string {
		rec := &reports.Record{SchemaVersion: reports.SchemaVersion, Seed: 7, Command: "make chaos SEED=7"}
		for i, v := range verdicts {
			rec.Specs = append(rec.Specs, reports.Spec{Name: "spec " + strconv.Itoa(i), Verdict: v, Failure: "why " + string(v)})
		}
		p := filepath.Join(dir, name)
		if err := rec.Write(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		path string
		code int
		want string
	}{
		{write("pass.json", reports.Passed, reports.Passed), 0, "2 passed, 0 failed, 0 inconclusive"},
		{write("inc.json", reports.Passed, reports.Inconclusive), exitInconclusive, "inconclusive spec 1: why inconclusive"},
		{write("fail.json", reports.Inconclusive, reports.Failed), exitFailed, "failed       spec 1: why failed"},
		{filepath.Join(dir, "missing.json"), 2, ""},
	} {
		var out bytes.Buffer
		if code := run([]string{"verdict", c.path}, &out, io.Discard); code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: code %d out %q, want %d containing %q", filepath.Base(c.path), code, out.String(), c.code, c.want)
		}
	}
}
