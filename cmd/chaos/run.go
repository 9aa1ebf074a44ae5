package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/provider"

	"github.com/agentops/failover-harness/reports"
	"github.com/agentops/failover-harness/scenarios/plan"
)

func init() {
	register(command{name: "run", summary: "run the failover test plan and write the report (no Ginkgo)", run: runRun})
}

// Exit codes of `chaos run` (and `make chaos`, `chaos verdict`, `chaos
// soak`) beyond 0 (every row passed) and 2 (bad usage).
const (
	exitFailed       = 1   // a row failed, or the run could not start or write its report
	exitInconclusive = 3   // no row failed, but at least one could not be judged (starved machine, scenario not formed)
	exitInterrupted  = 130 // Ctrl-C / SIGTERM / --timeout: partial record written
)

// replayPrefix is how the replay line starts: from the module root, like
// the default command engine.NewSuite would write.
const replayPrefix = "go run ./cmd/chaos run"

func runRun(args []string, stdout, stderr io.Writer) int {
	ctx, stop := interruptible()
	defer stop()
	return runPlan(ctx, args, stdout, stderr)
}

// interruptible is cancelled by the first Ctrl-C or SIGTERM, after which the
// default handling is back, so a second Ctrl-C kills the process if healing
// hangs.
func interruptible() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// runOptions are the parsed flags of `chaos run`.
type runOptions struct {
	config    string
	timeScale float64
	seed      int64
	provider  string
	images    string
	out       string
	labels    []string
	logPath   string
	timeout   time.Duration
	replay    string
	retries   int
	keep      bool
	target    string
	journal   string
	stop      engine.StopConditions
	dryRun    bool
	am, prom  bool
}

func parseRunFlags(args []string, stdout, stderr io.Writer) (o runOptions, code int, ok bool) {
	fs := flag.NewFlagSet("chaos run", flag.ContinueOnError)
	fs.StringVar(&o.config, "config", "", "failover config YAML to run the plan against (default: built-in, time-compressed settings)")
	fs.Float64Var(&o.timeScale, "time-scale", 0, "run the config this many times faster than real time, >= 1 (default: derived from the config; needs --config)")
	fs.Int64Var(&o.seed, "seed", 0, "seed for every random choice; the same seed replays a run (0 = random, printed)")
	fs.StringVar(&o.provider, "provider", "auto", "topology provider: local | docker | external (needs --target) | auto")
	fs.StringVar(&o.target, "target", "", "target file of a deployed topology, for --provider external (docs/EXTERNAL.md)")
	fs.Float64Var(&o.stop.MaxErrorRate, "stop-error-rate", 0, "stop condition: abort and heal a row when more than this fraction (0..1] of the users' requests over --stop-window fail (0 = off)")
	fs.DurationVar(&o.stop.Window, "stop-window", 5*time.Second, "the window of --stop-error-rate")
	fs.DurationVar(&o.stop.MaxRowTime, "stop-after", 0, "stop condition: abort and heal a row that runs longer than this (0 = off)")
	fs.BoolVar(&o.am, "alertmanager", false, "route alerts through a real Alertmanager in the topology (API v2 from the senders, grouped by alertname, on-call judged by what it delivers)")
	fs.BoolVar(&o.prom, "prometheus", false, "run a Prometheus in the topology scraping every region and the LB (on by itself when the config states probes or stop_when)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "with --provider external: print every change the plan would make to the target (hooks rendered, toxics), in order, and touch nothing")
	fs.StringVar(&o.journal, "journal", "", "heal journal of --provider external: every change is recorded here before it is made (default: OUT/heal-journal.jsonl); after a crash, chaos heal --journal FILE")
	fs.StringVar(&o.images, "images", "auto", "docker image set: upstream | local (make images) | auto (local when built)")
	fs.StringVar(&o.out, "out", "", "directory for run.json, index.html and junit.xml (default: a new reports/runs/<time>-seed-<N>, never another run's)")
	labels := fs.String("labels", "", "comma-separated labels of the rows to run, e.g. plan-1,plan-3 or checklist (default: all)")
	fs.StringVar(&o.logPath, "log", "", "file for the topology's and rows' log (default: OUT/chaos.log; \"off\" discards it)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "stop the run after this long, as Ctrl-C would (0 = no limit)")
	fs.IntVar(&o.retries, "retry-inconclusive", 0, "rerun an INCONCLUSIVE row up to N times, each with a fresh seed derived from --seed")
	fs.BoolVar(&o.keep, "keep", false, "keep every row's artifacts under OUT/artifacts (default: only rows that did not pass)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: chaos run [--config FILE] [--time-scale K] [--seed N] [--provider local|docker|auto] [--out DIR] [--labels plan-1,plan-3] [--retry-inconclusive N]")
		fmt.Fprintln(fs.Output(), "       chaos run --provider external --target FILE [--journal FILE] [--seed N] [--out DIR] [--labels ...]")
		fmt.Fprintln(fs.Output(), "A row that needs what the topology lacks (an external target without the hook, link or setting) is SKIPPED with the reason.")
		fmt.Fprintln(fs.Output(), "Verdicts: PASSED; FAILED (the system under test misbehaved); INCONCLUSIVE (the harness measured it could not judge:")
		fmt.Fprintln(fs.Output(), "its machine was starved, or the scenario's situation never formed; the reason is in the report).")
		fmt.Fprintln(fs.Output(), "Exit status: 0 every row passed, 1 a row failed or the run broke, 2 bad usage, 3 no row failed but one was inconclusive,")
		fmt.Fprintln(fs.Output(), "130 interrupted (partial report written).")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return o, code, false
	}
	bad := func(format string, a ...any) (runOptions, int, bool) {
		fmt.Fprintf(stderr, "chaos run: "+format+"\n", a...)
		return o, 2, false
	}
	if setFlag(fs, "time-scale") {
		if o.provider == "external" {
			return bad("--time-scale: an external target runs at its own time scale (its time_scale: field)")
		}
		if math.IsNaN(o.timeScale) || math.IsInf(o.timeScale, 0) || o.timeScale < 1 {
			return bad("--time-scale: must be >= 1 (got %v)", o.timeScale)
		}
		if o.config == "" {
			return bad("--time-scale: needs --config (the built-in settings are already time-compressed)")
		}
	}
	if o.seed < 0 {
		return bad("--seed: must be a positive integer (got %d)", o.seed)
	}
	if err := provider.Check(o.provider); err != nil {
		return bad("--provider: %v", err)
	}
	switch {
	case o.provider == "external" && o.target == "":
		return bad("--provider external: needs --target FILE (the deployed topology; docs/EXTERNAL.md)")
	case o.provider != "external" && o.target != "":
		return bad("--target: applies to --provider external only")
	case o.provider != "external" && o.journal != "":
		return bad("--journal: applies to --provider external only (local and docker topologies are removed with the run)")
	case o.provider == "external" && (o.am || o.prom):
		return bad("--alertmanager/--prometheus: an external target keeps its own (probes use the target's prometheus.url)")
	case o.dryRun && o.provider != "external":
		return bad("--dry-run: applies to --provider external (a local or docker topology is the harness's own)")
	case o.provider == "external" && o.config != "":
		return bad("--config: the target file names the deployment's config (its config: field)")
	}
	if setFlag(fs, "out") && o.out == "" {
		return bad("--out: must not be empty")
	}
	if o.timeout < 0 {
		return bad("--timeout: must be >= 0 (got %v)", o.timeout)
	}
	if math.IsNaN(o.stop.MaxErrorRate) || o.stop.MaxErrorRate < 0 || o.stop.MaxErrorRate > 1 {
		return bad("--stop-error-rate: must be in (0,1], or 0 for off (got %v)", o.stop.MaxErrorRate)
	}
	if o.stop.Window <= 0 {
		return bad("--stop-window: must be > 0 (got %v)", o.stop.Window)
	}
	if o.stop.MaxRowTime < 0 {
		return bad("--stop-after: must be >= 0 (got %v)", o.stop.MaxRowTime)
	}
	if o.retries < 0 || o.retries > 10 {
		return bad("--retry-inconclusive: must be 0..10 (got %d)", o.retries)
	}
	var err error
	if o.labels, err = parseLabels(*labels); err != nil {
		return bad("--labels: %v", err)
	}
	if o.seed == 0 {
		// Picked here, not by engine.NewSuite, so the replay line can carry it.
		o.seed = engine.NewSeed()
	}
	if o.out == "" {
		o.out = ownOutDir("runs", o.seed)
	}
	if o.provider == "external" && o.journal == "" && !o.dryRun {
		o.journal = filepath.Join(o.out, "heal-journal.jsonl")
	}
	// The replay line: every flag the user set, in a stable order, with the seed pinned.
	parts := []string{replayPrefix}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			return
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			parts = append(parts, "--"+f.Name+"="+f.Value.String()) // "--keep true" would end the flags
			return
		}
		parts = append(parts, "--"+f.Name, shellQuote(f.Value.String()))
	})
	o.replay = strings.Join(append(parts, "--seed", strconv.FormatInt(o.seed, 10)), " ")
	return o, 0, true
}

// parseLabels splits "plan-1, plan-3" and rejects labels no row carries.
func parseLabels(v string) ([]string, error) {
	known := map[string]bool{}
	for _, r := range plan.Rows() {
		known[r.Label] = true
	}
	var out []string
	for _, l := range strings.Split(v, ",") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if !known[l] {
			have := make([]string, 0, len(known))
			for k := range known {
				have = append(have, k)
			}
			sort.Strings(have)
			return nil, fmt.Errorf("no row has label %q (have: %s)", l, strings.Join(have, ", "))
		}
		out = append(out, l)
	}
	return out, nil
}

// selectRows keeps plan order; no labels means every row.
func selectRows(labels []string) []engine.Row {
	all := plan.Rows()
	if len(labels) == 0 {
		return all
	}
	want := map[string]bool{}
	for _, l := range labels {
		want[l] = true
	}
	var rows []engine.Row
	for _, r := range all {
		if want[r.Label] {
			rows = append(rows, r)
		}
	}
	return rows
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,=:+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runPlan is `chaos run` once the signals are wired: cancelling ctx stops the
// run after the row in flight has healed its faults and closed its cluster,
// and the partial record is still written.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, code, ok := parseRunFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	if o.dryRun {
		s, err := engine.NewSuite(ctx, engine.SuiteOptions{Seed: o.seed, Provider: o.provider, Target: o.target, Progress: stderr})
		if err != nil {
			fmt.Fprintf(stderr, "chaos run: %v\n", err)
			return exitFailed
		}
		defer s.Close()
		if err := dryRun(ctx, s, selectRows(o.labels), stdout); err != nil {
			fmt.Fprintf(stderr, "chaos run: %v\n", err)
			return exitFailed
		}
		return 0
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("--timeout %v reached", o.timeout))
		defer cancel()
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		fmt.Fprintf(stderr, "chaos run: --out: %v\n", err)
		return exitFailed
	}
	log := io.Discard
	if o.logPath != "off" {
		if o.logPath == "" {
			o.logPath = filepath.Join(o.out, "chaos.log")
		}
		f, err := os.Create(o.logPath)
		if err != nil {
			fmt.Fprintf(stderr, "chaos run: --log: %v\n", err)
			return exitFailed
		}
		defer f.Close()
		log = f
	}

	s, err := engine.NewSuite(ctx, engine.SuiteOptions{
		Seed: o.seed, Provider: o.provider, Images: o.images, ConfigPath: o.config,
		TimeScale: o.timeScale, Command: o.replay, Log: log, Progress: stderr,
		Out: o.out, Keep: o.keep, RetryInconclusive: o.retries, Target: o.target, Journal: o.journal, Stop: o.stop,
		Alertmanager: o.am, Prometheus: o.prom,
	})
	if err != nil {
		fmt.Fprintf(stderr, "chaos run: %v\n", err)
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitFailed
	}
	defer s.Close() // on early paths; the journal's verdict is read below
	rows := selectRows(o.labels)
	fmt.Fprintf(stdout, "seed: %d\n", s.Seed)
	fmt.Fprintf(stdout, "time scale: %gx\n", s.TimeScale)
	fmt.Fprintf(stdout, "provider: %s (%s)\n", s.Provider.Name(), s.ProviderReason)
	fmt.Fprintf(stdout, "rows: %d\n", len(rows))
	if o.logPath != "off" {
		fmt.Fprintf(stdout, "log: %s\n", o.logPath)
	}

	started := time.Now()
	results, runErr := s.RunAll(ctx, rows, stderr)
	interrupted, ran := ctx.Err() != nil, 0
	if interrupted {
		fmt.Fprintf(stderr, "chaos run: interrupted (%v); writing the partial report\n", context.Cause(ctx))
		ran = len(results)
		// Rows never started still appear, so the report shows what is missing.
		for _, r := range rows[len(results):] {
			results = append(results, engine.SpecResult{Name: r.Spec, Labels: []string{r.Label},
				Verdict: reports.Skipped, Failure: "not run: the run was interrupted"})
		}
	} else if runErr != nil {
		fmt.Fprintf(stderr, "chaos run: %v\n", runErr)
	}
	rec := s.BuildRecord(results, started)
	// The row in flight fails with whatever its cancelled wait said (often
	// "timed out ..."); say why, so nobody chases a phantom timeout. Done on
	// the record because BuildRecord prefers the row's own check failures.
	if ran > 0 && ran <= len(rec.Specs) && rec.Specs[ran-1].Verdict == reports.Failed {
		rec.Specs[ran-1].Failure = "interrupted while this row ran; its checks are incomplete:\n" + rec.Specs[ran-1].Failure
	}
	if err := engine.WriteOutputs(o.out, rec); err != nil {
		fmt.Fprintf(stderr, "chaos run: write report: %v\n", err)
		return exitFailed
	}

	// Every row healed what it injected; a journal with changes left says
	// the target is not whole, whatever the rows concluded.
	journalErr := s.Close()
	if journalErr != nil {
		fmt.Fprintf(stderr, "chaos run: %v\n", journalErr)
	}
	counts := map[reports.Verdict]int{}
	for _, r := range results {
		counts[r.Verdict]++
	}
	failed := counts[reports.Failed]
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(o.out, reports.HTMLFile))
	fmt.Fprintf(stdout, "record: %s\n", filepath.Join(o.out, reports.RecordFile))
	fmt.Fprintf(stdout, "replay: %s\n", rec.Command)
	fmt.Fprintf(stdout, "result: %d passed, %d failed, %d inconclusive, %d skipped or not run in %.1fs\n",
		counts[reports.Passed], failed, counts[reports.Inconclusive], counts[reports.Skipped], time.Since(started).Seconds())
	switch {
	case interrupted:
		return exitInterrupted
	case failed > 0, runErr != nil && !errors.Is(runErr, context.Canceled), journalErr != nil:
		return exitFailed
	case counts[reports.Inconclusive] > 0:
		return exitInconclusive
	}
	return 0
}
