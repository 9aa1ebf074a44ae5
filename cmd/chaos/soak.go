package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/provider"

	"github.com/agentops/failover-harness/reports"
)

func init() {
	register(command{name: "soak", summary: "run the plan many times with fresh seeds (optionally with the CPU loaded) and tabulate the verdicts", run: runSoak})
	register(command{name: "burn", summary: "(internal) keep one core busy until killed or --for elapses; soak --cpu-load uses it", run: runBurn})
}

type soakOptions struct {
	runs     int
	provider string
	images   string
	config   string
	target   string
	am, prom bool
	labels   []string
	out      string
	load     int
	retries  int
	timeout  time.Duration
}

func runSoak(args []string, stdout, stderr io.Writer) int {
	ctx, stop := interruptible()
	defer stop()
	var o soakOptions
	fs := flag.NewFlagSet("chaos soak", flag.ContinueOnError)
	fs.IntVar(&o.runs, "runs", 10, "how many times to run the plan, each with a fresh random seed")
	fs.StringVar(&o.provider, "provider", "auto", "topology provider: local | docker | external (needs --target) | auto")
	fs.StringVar(&o.target, "target", "", "target file of a deployed topology, for --provider external (each run keeps its heal journal in its run folder)")
	fs.StringVar(&o.images, "images", "auto", "docker image set: upstream | local | auto")
	fs.StringVar(&o.config, "config", "", "failover config YAML (default: built-in, time-compressed settings)")
	fs.BoolVar(&o.am, "alertmanager", false, "route alerts through a real Alertmanager in the topology")
	fs.BoolVar(&o.prom, "prometheus", false, "run a Prometheus in the topology")
	labels := fs.String("labels", "", "comma-separated labels of the rows to run (default: all)")
	fs.StringVar(&o.out, "out", "", "directory for each run's record (run-N/) and the table (soak.json, soak.txt) (default: a new reports/soak/<time>)")
	fs.IntVar(&o.load, "cpu-load", 0, "keep this many cores busy with child processes for the whole soak (stopped by PID at the end)")
	fs.IntVar(&o.retries, "retry-inconclusive", 0, "rerun an INCONCLUSIVE row up to N times within a run")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Hour, "stop the soak after this long, as Ctrl-C would")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: chaos soak [--runs N] [--provider local|docker|auto] [--config FILE] [--labels ...] [--cpu-load N] [--out DIR]")
		fmt.Fprintln(fs.Output(), "Runs the plan N times with fresh seeds and prints, per spec, how many runs passed, failed and were")
		fmt.Fprintln(fs.Output(), "inconclusive, with the replay command and reason of every run that did not pass.")
		fmt.Fprintln(fs.Output(), "Exit status: 0 every run of every spec passed, 1 one failed, 2 bad usage, 3 none failed but one was inconclusive, 130 interrupted.")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "chaos soak: "+format+"\n", a...)
		return 2
	}
	var err error
	switch {
	case o.runs < 1 || o.runs > 1000:
		return bad("--runs: must be 1..1000 (got %d)", o.runs)
	case o.load < 0 || o.load > 64:
		return bad("--cpu-load: must be 0..64 (got %d)", o.load)
	case o.retries < 0 || o.retries > 10:
		return bad("--retry-inconclusive: must be 0..10 (got %d)", o.retries)
	case setFlag(fs, "out") && o.out == "":
		return bad("--out: must not be empty")
	case o.provider == "external" && o.target == "":
		return bad("--provider external: needs --target FILE")
	case o.provider != "external" && o.target != "":
		return bad("--target: applies to --provider external only")
	case o.provider == "external" && o.config != "":
		return bad("--config: the target file names the deployment's config")
	}
	if err := provider.Check(o.provider); err != nil {
		return bad("--provider: %v", err)
	}
	if o.labels, err = parseLabels(*labels); err != nil {
		return bad("--labels: %v", err)
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("--timeout %v reached", o.timeout))
		defer cancel()
	}
	if o.out == "" {
		o.out = ownOutDir("soak", 0)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return bad("--out: %v", err)
	}
	fmt.Fprintf(stderr, "chaos soak: writing to %s\n", o.out)
	if o.load > 0 {
		stopLoad, err := startBurners(o.load, o.timeout)
		if err != nil {
			fmt.Fprintf(stderr, "chaos soak: --cpu-load: %v\n", err)
			return exitFailed
		}
		defer stopLoad()
		fmt.Fprintf(stderr, "chaos soak: %d busy-loop processes loading the CPU\n", o.load)
	}
	return soak(ctx, o, stdout, stderr)
}

// soakRow is one spec's tally over the runs.
type soakRow struct {
	Label        string `json:"label"`
	Spec         string `json:"spec"`
	Passed       int    `json:"passed"`
	Failed       int    `json:"failed"`
	Inconclusive int    `json:"inconclusive"`
	// Skipped: runs in which the topology lacked what the spec needs (an
	// external target's missing hook or setting), with the first reason.
	Skipped    int         `json:"skipped"`
	SkipReason string      `json:"skip_reason,omitempty"`
	NotPassed  []soakEntry `json:"not_passed,omitempty"`
}

type soakEntry struct {
	Run     int    `json:"run"`
	Verdict string `json:"verdict"`
	Replay  string `json:"replay"`
	Reason  string `json:"reason"`
	Record  string `json:"record"`
}

func soak(ctx context.Context, o soakOptions, stdout, stderr io.Writer) int {
	rows := selectRows(o.labels)
	tally := map[string]*soakRow{}
	var order []string
	for _, r := range rows {
		tally[r.Spec] = &soakRow{Label: r.Label, Spec: r.Spec}
		order = append(order, r.Spec)
	}
	started := time.Now()
	done := 0
	for i := 1; i <= o.runs && ctx.Err() == nil; i++ {
		seed := engine.NewSeed()
		dir := filepath.Join(o.out, fmt.Sprintf("run-%d", i))
		replay := fmt.Sprintf("go run ./cmd/chaos run --seed %d --provider %s", seed, o.provider)
		if o.config != "" {
			replay += " --config " + shellQuote(o.config)
		}
		if o.am {
			replay += " --alertmanager"
		}
		if o.prom {
			replay += " --prometheus"
		}
		journal := ""
		if o.target != "" {
			replay += " --target " + shellQuote(o.target)
			journal = filepath.Join(dir, "heal-journal.jsonl")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				fmt.Fprintf(stderr, "chaos soak: %v\n", err)
				return exitFailed
			}
		}
		fmt.Fprintf(stderr, "chaos soak: run %d of %d (seed %d)\n", i, o.runs, seed)
		log, err := os.Create(filepath.Join(dir + ".log"))
		if err != nil {
			fmt.Fprintf(stderr, "chaos soak: %v\n", err)
			return exitFailed
		}
		s, err := engine.NewSuite(ctx, engine.SuiteOptions{
			Seed: seed, Provider: o.provider, Images: o.images, ConfigPath: o.config,
			Command: replay, Log: log, Progress: io.Discard, Out: dir, RetryInconclusive: o.retries,
			Target: o.target, Journal: journal, Alertmanager: o.am, Prometheus: o.prom,
		})
		if err != nil {
			log.Close()
			fmt.Fprintf(stderr, "chaos soak: %v\n", err)
			return exitFailed
		}
		t0 := time.Now()
		results, _ := s.RunAll(ctx, rows, io.Discard)
		rec := s.BuildRecord(results, t0)
		if err := s.Close(); err != nil { // a journal left with changes: the target is not whole
			fmt.Fprintf(stderr, "chaos soak: run %d: %v\n", i, err)
			log.Close()
			return exitFailed
		}
		log.Close()
		if err := engine.WriteOutputs(dir, rec); err != nil {
			fmt.Fprintf(stderr, "chaos soak: write run %d: %v\n", i, err)
		}
		if ctx.Err() != nil {
			break // an interrupted run's verdicts are not counted
		}
		done++
		var line []string
		for _, sp := range rec.Specs {
			t := tally[sp.Name]
			if t == nil {
				continue
			}
			switch sp.Verdict {
			case reports.Passed:
				t.Passed++
				continue
			case reports.Failed:
				t.Failed++
			case reports.Inconclusive:
				t.Inconclusive++
			case reports.Skipped:
				if t.Skipped++; t.Skipped == 1 {
					t.SkipReason = firstLine(sp.Failure)
				}
				continue
			default:
				continue
			}
			line = append(line, fmt.Sprintf("%s %s", t.Label, strings.ToUpper(string(sp.Verdict))))
			t.NotPassed = append(t.NotPassed, soakEntry{Run: i, Verdict: string(sp.Verdict),
				Replay: replay + " --labels " + t.Label, Reason: firstLine(sp.Failure), Record: filepath.Join(dir, reports.RecordFile)})
		}
		status := "all passed"
		if len(line) > 0 {
			status = strings.Join(line, ", ")
		}
		fmt.Fprintf(stderr, "chaos soak: run %d: %s (%.0fs)\n", i, status, time.Since(t0).Seconds())
	}
	table := make([]*soakRow, 0, len(order))
	for _, n := range order {
		table = append(table, tally[n])
	}
	var b strings.Builder
	writeSoakTable(&b, table, done, o, time.Since(started))
	fmt.Fprint(stdout, b.String())
	_ = os.WriteFile(filepath.Join(o.out, "soak.txt"), []byte(b.String()), 0o644)
	if data, err := json.MarshalIndent(map[string]any{"runs": done, "cpu_load": o.load, "provider": o.provider, "config": o.config, "specs": table}, "", "  "); err == nil {
		_ = os.WriteFile(filepath.Join(o.out, "soak.json"), append(data, '\n'), 0o644)
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "chaos soak: interrupted (%v) after %d complete runs\n", context.Cause(ctx), done)
		return exitInterrupted
	}
	counts := map[reports.Verdict]int{}
	for _, t := range table {
		counts[reports.Failed] += t.Failed
		counts[reports.Inconclusive] += t.Inconclusive
	}
	return exitCode(counts)
}

func writeSoakTable(w io.Writer, table []*soakRow, runs int, o soakOptions, took time.Duration) {
	cfg := "built-in"
	if o.config != "" {
		cfg = o.config
	}
	fmt.Fprintf(w, "soak: %d runs, provider %s, config %s, cpu load %d, %.0fs\n\n", runs, o.provider, cfg, o.load, took.Seconds())
	fmt.Fprintf(w, "| %-9s | %-60s | %6s | %6s | %12s | %7s |\n", "label", "spec", "passed", "failed", "inconclusive", "skipped")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 11), strings.Repeat("-", 62), strings.Repeat("-", 8), strings.Repeat("-", 8), strings.Repeat("-", 14), strings.Repeat("-", 9))
	var tp, tf, ti, ts int
	for _, t := range table {
		spec := t.Spec
		if len(spec) > 60 {
			spec = spec[:57] + "..."
		}
		fmt.Fprintf(w, "| %-9s | %-60s | %6d | %6d | %12d | %7d |\n", t.Label, spec, t.Passed, t.Failed, t.Inconclusive, t.Skipped)
		tp, tf, ti, ts = tp+t.Passed, tf+t.Failed, ti+t.Inconclusive, ts+t.Skipped
	}
	fmt.Fprintf(w, "| %-9s | %-60s | %6d | %6d | %12d | %7d |\n", "total", fmt.Sprintf("%d spec runs", tp+tf+ti+ts), tp, tf, ti, ts)
	var notes []string
	for _, t := range table {
		if t.Skipped > 0 {
			notes = append(notes, fmt.Sprintf("%s skipped in %d run(s): %s", t.Label, t.Skipped, t.SkipReason))
		}
	}
	for _, t := range table {
		for _, e := range t.NotPassed {
			notes = append(notes, fmt.Sprintf("run %d %s %s: %s\n    replay: %s", e.Run, t.Label, strings.ToUpper(e.Verdict), e.Reason, e.Replay))
		}
	}
	sort.Strings(notes)
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nruns that did not pass:\n")
		for _, n := range notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
}

// startBurners starts n child processes that each keep a core busy, for at
// most limit (they also die with this process), and returns their stopper.
func startBurners(n int, limit time.Duration) (func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 3 * time.Hour
	}
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			_ = c.Process.Kill() // by PID: only the processes started here
			_ = c.Wait()
		}
	}
	for i := 0; i < n; i++ {
		c := exec.Command(self, "burn", "--for", limit.String())
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			stop()
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}

func runBurn(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos burn", flag.ContinueOnError)
	d := fs.Duration("for", time.Hour, "stop after this long")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	end := time.Now().Add(*d)
	x := uint64(1)
	for time.Now().Before(end) {
		for i := 0; i < 1_000_000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if x == 0 {
		fmt.Fprintln(stdout, x)
	}
	return 0
}
