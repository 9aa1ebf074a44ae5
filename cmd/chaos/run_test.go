package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentops/failover-harness/reports"
)

func TestRunUsageErrorsNameTheFlag(t *testing.T) {
	cfg := repoFile(t, "examples/recommended.yaml")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--config", cfg, "--time-scale", "0.5"}, "--time-scale: must be >= 1"},
		{[]string{"--config", cfg, "--time-scale", "NaN"}, "--time-scale: must be >= 1"},
		{[]string{"--time-scale", "10"}, "--time-scale: needs --config"},
		{[]string{"--labels", "plan-1,plan-9"}, `--labels: no row has label "plan-9"`},
		{[]string{"--provider", "mars"}, "--provider:"},
		{[]string{"--seed", "-3"}, "--seed:"},
		{[]string{"--timeout", "-1s"}, "--timeout:"},
		{[]string{"--out", ""}, "--out:"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--provider", "external"}, "--provider external: needs --target FILE"},
		{[]string{"--target", "t.yaml"}, "--target: applies to --provider external only"},
		{[]string{"--journal", "j"}, "--journal: applies to --provider external only"},
		{[]string{"--dry-run"}, "--dry-run: applies to --provider external"},
		{[]string{"--provider", "external", "--target", "t.yaml", "--config", cfg}, "--config: the target file names"},
		{[]string{"--provider", "external", "--target", "t.yaml", "--time-scale", "2"}, "--time-scale: an external target"},
		{[]string{"--stop-error-rate", "1.5"}, "--stop-error-rate: must be in (0,1]"},
		{[]string{"--stop-window", "0s"}, "--stop-window: must be > 0"},
		{[]string{"--stop-after", "-1s"}, "--stop-after: must be >= 0"},
		{[]string{"--bogus"}, "flag provided but not defined"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := run(append([]string{"run"}, c.args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: code %d stderr %q, want 2 containing %q", c.args, code, errb.String(), c.want)
		}
	}
	var out bytes.Buffer
	if code := run([]string{"run", "--help"}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "--time-scale") {
		t.Fatalf("--help: code %d out %q", code, out.String())
	}
}

func TestRunInvalidConfigExits1BeforeStarting(t *testing.T) {
	bad := writeTemp(t, "bad.yaml", strings.Replace(validRegions, "weight: 30", "weight: -1", 1))
	var out, errb bytes.Buffer
	code := run([]string{"run", "--config", bad, "--provider", "local", "--out", t.TempDir()}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "regions[1].weight") {
		t.Fatalf("code %d stderr %q, want 1 naming regions[1].weight", code, errb.String())
	}
}

func TestRunReplayLinePinsTheSeed(t *testing.T) {
	o, code, ok := parseRunFlags([]string{"--labels", "plan-1", "--config", "my dir/a.yaml", "--seed", "42"}, io.Discard, io.Discard)
	if !ok {
		t.Fatalf("parse: code %d", code)
	}
	want := "go run ./cmd/chaos run --config 'my dir/a.yaml' --labels plan-1 --seed 42"
	if o.replay != want {
		t.Fatalf("replay %q, want %q", o.replay, want)
	}
	// A bool flag replays as --name=value: "--keep true" would end the flags.
	o, _, _ = parseRunFlags([]string{"--keep", "--seed", "7"}, io.Discard, io.Discard)
	if want := replayPrefix + " --keep=true --seed 7"; o.replay != want {
		t.Fatalf("replay %q, want %q", o.replay, want)
	}
	// No --seed: one is chosen and pinned, so the line still replays.
	o, _, _ = parseRunFlags(nil, io.Discard, io.Discard)
	if o.seed <= 0 || o.replay != replayPrefix+" --seed "+strconv.FormatInt(o.seed, 10) {
		t.Fatalf("seed %d replay %q", o.seed, o.replay)
	}
}

func TestRunSelectRowsKeepsPlanOrder(t *testing.T) {
	labels := func(labels ...string) []string {
		var got []string
		for _, r := range selectRows(labels) {
			got = append(got, r.Label)
		}
		return got
	}
	if got := labels("plan-3", "plan-1"); strings.Join(got, ",") != "plan-1,plan-3" {
		t.Fatalf("plan-3,plan-1 selected %v", got)
	}
	all := labels()
	if len(all) < 8 || all[0] != "plan-1" || all[7] != "checklist" || all[len(all)-1] != "skew" || !slices.Contains(all, "security") {
		t.Fatalf("default selection %v, want every plan row, then the checklist, the security and the skew rows", all)
	}
	for _, l := range labels("checklist") {
		if l != "checklist" {
			t.Fatalf("checklist selected %q", l)
		}
	}
}

// runPlanRow runs `chaos run` for plan-1 against config and returns the exit
// code and the record it wrote, after checking what every run must print and write.
func runPlanRow(t *testing.T, config string) (int, *reports.Record) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a topology")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin, _, env := buildChaos(t, ctx)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "run", "--config", repoFile(t, config), "--labels", "plan-1", "--provider", "local",
		"--out", out, "--timeout", "3m", "--retry-inconclusive", "2")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	err := cmd.Run()
	code := 0
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: exit %d in %.1fs\nstdout:\n%s\nstderr:\n%s", config, code, time.Since(start).Seconds(), stdout.String(), stderr.String())
	for _, f := range []string{reports.RecordFile, reports.HTMLFile, reports.JUnitFile} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
	rec, err := reports.ReadRecord(filepath.Join(out, reports.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Specs) != 1 || !rec.Specs[0].HasLabel("plan-1") {
		t.Fatalf("specs %+v, want plan-1 only", rec.Specs)
	}
	seedArg := "--seed " + strconv.FormatInt(rec.Seed, 10)
	if !strings.Contains(rec.Command, seedArg) || !strings.Contains(stdout.String(), "replay: "+rec.Command) {
		t.Fatalf("command %q lacks %q, or stdout lacks the replay line", rec.Command, seedArg)
	}
	for _, want := range []string{"time scale: ", "provider: local (requested)", "report: " + filepath.Join(out, reports.HTMLFile)} {
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("stdout lacks %q", want)
		}
	}
	return code, rec
}

func TestRunRecommendedConfigPassesPlan1(t *testing.T) {
	code, rec := runPlanRow(t, "examples/recommended.yaml")
	// A starved machine may make the row inconclusive (exit 3) but never failed.
	s := rec.Specs[0]
	starved := code == exitInconclusive && s.Verdict == reports.Inconclusive && s.Health != nil && s.Health.Starved
	if !starved && (code != 0 || s.Verdict != reports.Passed) {
		t.Fatalf("exit %d verdict %s failure %q, want 0 and passed", code, s.Verdict, s.Failure)
	}
}

func TestRunArticleConfigLosesAckedMessages(t *testing.T) {
	code, rec := runPlanRow(t, "examples/article-production.yaml")
	s := rec.Specs[0]
	if code != 1 || s.Verdict != reports.Failed {
		t.Fatalf("exit %d verdict %s, want 1 and failed", code, s.Verdict)
	}
	// Periodic checkpoints acknowledge before the store has the message: the
	// exposure fails the row whether or not this freeze happened to land in
	// a checkpoint window (at 160x the window is 31 ms).
	if !strings.Contains(s.Failure, "ack-implies-durable") && !strings.Contains(s.Failure, "acknowledged messages lost") {
		t.Fatalf("plan-1 failure %q reports neither non-durable acks nor lost ones", s.Failure)
	}
	// One number per bound: the detection bound the check enforced,
	// projected to real time, is the one `chaos validate` prints.
	var out bytes.Buffer
	if code := run([]string{"validate", repoFile(t, "examples/article-production.yaml")}, &out, io.Discard); code != 0 {
		t.Fatalf("validate: code %d", code)
	}
	det := s.DetectionCheck()
	if det == nil || det.Bound == nil || det.Bound.ProjectedText == "" {
		t.Fatalf("no projected detection bound in the record: %+v", det)
	}
	total, _, _ := strings.Cut(det.Bound.ProjectedText, " ")
	if !strings.Contains(out.String(), "detection:    "+total+" = ") {
		t.Fatalf("run enforced a detection bound of %s in real time (%s); validate printed:\n%s", total, det.Bound.ProjectedText, out.String())
	}
}

// SIGINT while plan-1 runs: the process heals, closes the cluster, writes
// the partial record (plan-2 not run) and exits 130, leaving no child alive.
func TestRunSIGINTWritesPartialRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	chaos, _, env := buildChaos(t, ctx)
	out := t.TempDir()
	cmd := exec.Command(chaos, "run", "--config", repoFile(t, "examples/recommended.yaml"), "--labels", "plan-1,plan-2",
		"--provider", "local", "--out", out, "--seed", "11")
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	scanned := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(stderr)
		scanned <- string(b)
	}()
	// Interrupt once plan-1's topology is up, so teardown has processes to stop.
	logPath := filepath.Join(out, "chaos.log")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, _ := os.ReadFile(logPath); strings.Contains(string(b), "topology ready") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("plan-1's topology never became ready")
		case <-tick.C:
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	errOut := <-scanned // the pipe closes when the process exits
	err = cmd.Wait()
	t.Logf("exited %.1fs after SIGINT\nstdout:\n%s\nstderr:\n%s", time.Since(signalled).Seconds(), stdout.String(), errOut)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Fatalf("wait: %v, want exit %d", err, exitInterrupted)
	}
	rec, err := reports.ReadRecord(filepath.Join(out, reports.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Specs) != 2 || !rec.Specs[0].HasLabel("plan-1") || rec.Specs[1].Verdict != reports.Skipped {
		t.Fatalf("partial record specs %+v, want plan-1 then plan-2 skipped", rec.Specs)
	}
	if s := rec.Specs[0]; s.Verdict == reports.Failed && !strings.HasPrefix(s.Failure, "interrupted while this row ran") {
		t.Fatalf("plan-1 failure %q does not say the run was interrupted", s.Failure)
	}
	for _, f := range rec.Specs[0].Faults {
		if f.End < f.Start {
			t.Fatalf("fault %s never healed: %+v", f.Name, f)
		}
	}
	logData, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logData), "topology stopped") {
		t.Fatalf("log does not show the topology stopped:\n%s", logData)
	}
	for _, m := range regexp.MustCompile(`pid=(\d+)`).FindAllStringSubmatch(string(logData), -1) {
		pid, _ := strconv.Atoi(m[1])
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("child pid %d still alive after chaos run exited", pid)
		}
	}
}
