package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	hconfig "github.com/agentops/failover-harness/harness/config"
	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/explore"
	"github.com/agentops/failover-harness/harness/provider"
	"github.com/agentops/failover-harness/reports"
	"github.com/agentops/failover-harness/scenarios/plan"
)

func init() {
	register(command{name: "explore", summary: "run randomized fault schedules under user traffic; shrink a failing one to the smallest that still fails", run: runExplore})
	register(command{name: "replay", summary: "rerun a fault schedule written by explore (SCHEDULE.json)", run: runReplay})
}

// openExplore starts the suite that runs schedule rows, logging to OUT/chaos.log.
func openExplore(ctx context.Context, seed int64, prov, config, out, replay string, stderr io.Writer) (*plan.Explorer, *os.File, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, nil, fmt.Errorf("--out: %w", err)
	}
	logf, err := os.Create(filepath.Join(out, "chaos.log"))
	if err != nil {
		return nil, nil, err
	}
	s, err := engine.NewSuite(ctx, engine.SuiteOptions{Seed: seed, Provider: prov, Images: "auto", ConfigPath: config,
		Command: replay, Log: logf, Progress: stderr, Out: out})
	if err != nil {
		logf.Close()
		return nil, nil, err
	}
	return &plan.Explorer{Suite: s, Out: out, Log: stderr}, logf, nil
}

// finishExplore writes the record of every schedule run and returns the
// exit code: interrupted, failed, inconclusive, or 0.
func finishExplore(ctx context.Context, x *plan.Explorer, started time.Time, cmd string, failed, inconclusive int, stdout, stderr io.Writer) int {
	if err := engine.WriteOutputs(x.Out, x.Suite.BuildRecord(x.Results(), started)); err != nil {
		fmt.Fprintf(stderr, "chaos %s: write record: %v\n", cmd, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(x.Out, reports.HTMLFile))
	switch {
	case ctx.Err() != nil:
		return exitInterrupted
	case failed > 0:
		return exitFailed
	case inconclusive > 0:
		return exitInconclusive
	}
	return 0
}

func runExplore(args []string, stdout, stderr io.Writer) int {
	ctx, stop := interruptible()
	defer stop()
	fs := flag.NewFlagSet("chaos explore", flag.ContinueOnError)
	seed := fs.Int64("seed", 0, "seed of the first schedule; schedule i uses seed+i (0 = random, printed)")
	duration := fs.Duration("duration", 8*time.Second, "length of each schedule's fault phase")
	faults := fs.String("faults", "", "comma-separated fault kinds to draw from (default: all: "+strings.Join(explore.Kinds(), ",")+")")
	maxFaults := fs.Int("max-faults", 4, "most faults in one schedule")
	runs := fs.Int("runs", 1, "schedules to run (ignored with --for)")
	budget := fs.Duration("for", 0, "keep drawing schedules for this long (e.g. 10m); 0 = --runs schedules")
	shrink := fs.Bool("shrink", true, "shrink a failing schedule to the smallest that still fails")
	shrinkRuns := fs.Int("shrink-runs", 16, "most schedules run while shrinking one failure")
	keepGoing := fs.Bool("keep-going", false, "go on drawing schedules after a failure (default: stop at the first, like a fuzzer)")
	prov := fs.String("provider", "auto", "topology provider: local | docker | auto")
	config := fs.String("config", "", "failover config YAML (default: built-in, time-compressed settings)")
	out := fs.String("out", "", "directory for the record, the failing and shrunk schedules (default: a new reports/explore/<time>-seed-<N>)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: chaos explore [--seed N] [--duration D] [--faults pause,kill,...] [--runs N | --for T] [--provider local|docker|auto] [--out DIR]")
		fmt.Fprintln(fs.Output(), "Draws random fault schedules (any region, overlapping faults, partial heals, restarts) and runs each under")
		fmt.Fprintln(fs.Output(), "user traffic. Safety (no acknowledged loss, versions never back, linearizable sessions, no silent overwrite,")
		fmt.Fprintln(fs.Output(), "each incident paged once) is judged on the whole history; recovery after the last heal at the end. A failing")
		fmt.Fprintln(fs.Output(), "schedule is written to OUT/failing-seed-N.json and shrunk to OUT/shrunk-seed-N.json: `chaos replay FILE` reruns it.")
		fmt.Fprintln(fs.Output(), "Same seed, same schedule. Exit status: 0 no schedule failed, 1 one failed, 2 bad usage, 3 none failed but one was inconclusive, 130 interrupted.")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "chaos explore: "+format+"\n", a...)
		return 2
	}
	var kinds []string
	for _, k := range strings.Split(*faults, ",") {
		if k = strings.TrimSpace(k); k != "" {
			kinds = append(kinds, k)
		}
	}
	switch {
	case *seed < 0:
		return bad("--seed: must be a positive integer (got %d)", *seed)
	case *duration < time.Second:
		return bad("--duration: must be at least 1s (got %v)", *duration)
	case *maxFaults < 1:
		return bad("--max-faults: must be >= 1 (got %d)", *maxFaults)
	case *runs < 1:
		return bad("--runs: must be >= 1 (got %d)", *runs)
	case *budget < 0:
		return bad("--for: must be >= 0 (got %v)", *budget)
	case *shrinkRuns < 0:
		return bad("--shrink-runs: must be >= 0 (got %d)", *shrinkRuns)
	}
	if err := explore.CheckKinds(kinds); err != nil {
		return bad("--faults: %v", err)
	}
	if err := provider.Check(*prov); err != nil {
		return bad("--provider: %v", err)
	}
	if *seed == 0 {
		*seed = engine.NewSeed()
	}
	if *out == "" {
		*out = ownOutDir("explore", *seed)
	}
	replay := fmt.Sprintf("go run ./cmd/chaos explore --seed %d --duration %v --provider %s", *seed, *duration, *prov)
	if *faults != "" {
		replay += " --faults " + shellQuote(*faults)
	}
	x, logf, err := openExplore(ctx, *seed, *prov, *config, *out, replay, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "chaos explore: %v\n", err)
		return exitFailed
	}
	defer logf.Close()
	defer x.Suite.Close()
	fmt.Fprintf(stdout, "seed: %d\nprovider: %s (%s)\nout: %s\n", *seed, x.Suite.Provider.Name(), x.Suite.ProviderReason, *out)
	started := time.Now()
	rep := x.Explore(ctx, plan.ExploreOptions{
		Seed: *seed, Draw: explore.Options{Duration: *duration, Kinds: kinds, MaxFaults: *maxFaults},
		Runs: *runs, For: *budget, Shrink: *shrink, ShrinkRuns: *shrinkRuns, KeepGoing: *keepGoing,
	})
	for _, f := range rep.Found {
		fmt.Fprintf(stdout, "FAILED after %d schedules in %s: %s\n  failed checks: %s\n  schedule: %s\n",
			f.After, f.Elapsed.Round(time.Second), f.Schedule.Title(), strings.Join(f.Checks, ", "), f.Path)
		if f.ShrunkPath != "" {
			fmt.Fprintf(stdout, "  shrunk from %d faults to %d in %d runs (%s): %s\n  replay: go run ./cmd/chaos replay %s\n",
				f.Shrunk.Before, f.Shrunk.After, f.Shrunk.Runs, f.ShrinkTime.Round(time.Second), f.Shrunk.Schedule.Title(), f.ShrunkPath)
		}
	}
	fmt.Fprintf(stdout, "explore: %d schedules in %s: %d failed, %d inconclusive\n", rep.Ran, rep.Elapsed.Round(time.Second), rep.Failed, rep.Inconclusive)
	return finishExplore(ctx, x, started, "explore", rep.Failed, rep.Inconclusive, stdout, stderr)
}

func runReplay(args []string, stdout, stderr io.Writer) int {
	ctx, stop := interruptible()
	defer stop()
	fs := flag.NewFlagSet("chaos replay", flag.ContinueOnError)
	runs := fs.Int("runs", 1, "how many times to run the schedule")
	seed := fs.Int64("seed", 0, "seed of the topology and users (default: the schedule's)")
	prov := fs.String("provider", "auto", "topology provider: local | docker | auto")
	config := fs.String("config", "", "failover config YAML (default: built-in, time-compressed settings)")
	out := fs.String("out", "", "directory for the record (default: a new reports/replay/<time>-seed-<N>)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: chaos replay [--runs N] [--seed N] [--provider local|docker|auto] [--config FILE] [--out DIR] SCHEDULE.json")
		fmt.Fprintln(fs.Output(), "Reruns a fault schedule written by `chaos explore` (or by hand: see docs/EXPLORE.md), judged as explore judges it.")
		fmt.Fprintln(fs.Output(), "Exit status: 0 every run passed, 1 one failed, 2 bad usage, 3 none failed but one was inconclusive, 130 interrupted.")
		fs.PrintDefaults()
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		fmt.Fprintf(stderr, "chaos replay: %v\n", err)
		fs.SetOutput(stderr)
		fs.Usage()
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "chaos replay: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() != 1 {
		return bad("want one SCHEDULE.json after the flags, got %d arguments", fs.NArg())
	}
	if *runs < 1 {
		return bad("--runs: must be >= 1 (got %d)", *runs)
	}
	if *seed < 0 {
		return bad("--seed: must be a positive integer (got %d)", *seed)
	}
	if err := provider.Check(*prov); err != nil {
		return bad("--provider: %v", err)
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return bad("%v", err)
	}
	sched, err := explore.Read(f)
	f.Close()
	if err != nil {
		return bad("%s: %v", path, err)
	}
	// Checked against the regions it will run on before anything starts.
	base := engine.SuiteDefaults()
	if *config != "" {
		c, _, err := hconfig.Load(*config)
		if err != nil {
			return bad("--config: %v", err)
		}
		base = engine.SpecFromConfig(c)
	}
	if err := sched.Validate(base); err != nil {
		return bad("%s: %v", path, err)
	}
	if *seed == 0 {
		*seed = max(sched.Seed, 1)
	}
	if *out == "" {
		*out = ownOutDir("replay", *seed)
	}
	x, logf, err := openExplore(ctx, *seed, *prov, *config, *out, "go run ./cmd/chaos replay "+shellQuote(path), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "chaos replay: %v\n", err)
		return exitFailed
	}
	defer logf.Close()
	defer x.Suite.Close()
	started := time.Now()
	counts := map[reports.Verdict]int{}
	for i := 0; i < *runs && ctx.Err() == nil; i++ {
		v, failedChecks := x.Run(ctx, fmt.Sprintf("replay %d", i+1), sched)
		counts[v]++
		fmt.Fprintf(stdout, "replay %d: %s %s\n", i+1, strings.ToUpper(string(v)), strings.Join(failedChecks, ", "))
	}
	fmt.Fprintf(stdout, "replay: %d passed, %d failed, %d inconclusive in %s\n", counts[reports.Passed], counts[reports.Failed], counts[reports.Inconclusive], time.Since(started).Round(time.Second))
	return finishExplore(ctx, x, started, "replay", counts[reports.Failed], counts[reports.Inconclusive], stdout, stderr)
}
