package plan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/engine"
	"github.com/agentops/failover-harness/harness/explore"
	"github.com/agentops/failover-harness/reports"
)

// Explorer runs schedules as rows of a suite (chaos explore and chaos
// replay): it draws them, and shrinks a failing one.
type Explorer struct {
	Suite *engine.Suite
	Out   string    // where failing and shrunk schedules go; "" keeps none
	Log   io.Writer // one line per finding and shrink step; nil discards

	results []engine.SpecResult
}

// ExploreOptions say what Explore draws and for how long.
type ExploreOptions struct {
	Seed       int64 // schedule i is drawn from Seed+i
	Draw       explore.Options
	Runs       int           // schedules to run when For is 0
	For        time.Duration // keep drawing for this long
	Shrink     bool
	ShrinkRuns int  // most schedules run while shrinking one failure
	KeepGoing  bool // draw on after a failure
	// MinFor is the shortest fault the shrinker makes; default Draw's MinFor
	// or 300 ms.
	MinFor time.Duration
}

// Found is one failing schedule and what shrinking made of it.
type Found struct {
	Schedule   explore.Schedule
	Checks     []string      // the checks it failed
	After      int           // schedules run until it failed, it included
	Elapsed    time.Duration // from the start of Explore to its failure
	Shrunk     explore.Shrunk
	ShrinkTime time.Duration
	Path       string // the failing schedule's file
	ShrunkPath string // the shrunk schedule's file
}

// ExploreReport sums up Explore.
type ExploreReport struct {
	Ran, Failed, Inconclusive int
	Elapsed                   time.Duration
	Found                     []Found
}

func (x *Explorer) logf(format string, a ...any) {
	if x.Log != nil {
		fmt.Fprintf(x.Log, format+"\n", a...)
	}
}

// Results are the verdicts of every schedule run so far, for the record.
func (x *Explorer) Results() []engine.SpecResult { return x.results }

// Run runs one schedule as a row called name and returns its verdict and
// the names of the checks it failed.
func (x *Explorer) Run(ctx context.Context, name string, s explore.Schedule) (reports.Verdict, []string) {
	row := ScheduleRow(name, s)
	progress := x.Log
	if progress == nil {
		progress = io.Discard
	}
	res, _ := x.Suite.RunAll(ctx, []engine.Row{row}, progress)
	if len(res) == 0 {
		return reports.Skipped, nil
	}
	if ctx.Err() != nil {
		// Cut short by Ctrl-C or a deadline: its checks judged nothing, so
		// the record says so rather than showing a red.
		res[0].Verdict, res[0].Failure = reports.Skipped, "not judged: interrupted while this schedule ran"
		x.results = append(x.results, res[0])
		return reports.Skipped, nil
	}
	x.results = append(x.results, res[0])
	var failed []string
	if o := x.Suite.Outcome(row.Spec); o != nil {
		for _, c := range o.Checks {
			if c.Verdict == check.Failed {
				failed = append(failed, c.Name)
			}
		}
	}
	return res[0].Verdict, failed
}

// Explore draws and runs schedules until o.Runs ran (or o.For elapsed,
// or the first failure unless KeepGoing), shrinking each failure.
func (x *Explorer) Explore(ctx context.Context, o ExploreOptions) ExploreReport {
	if o.MinFor <= 0 {
		o.MinFor = max(o.Draw.MinFor, 300*time.Millisecond)
	}
	started := time.Now()
	var rep ExploreReport
	for i := 0; ctx.Err() == nil; i++ {
		if o.For > 0 && time.Since(started) >= o.For || o.For == 0 && i >= max(o.Runs, 1) {
			break
		}
		sched := explore.Generate(o.Seed+int64(i), x.Suite.Base, o.Draw)
		rep.Ran++
		v, failedChecks := x.Run(ctx, fmt.Sprintf("run %d", i+1), sched)
		if ctx.Err() != nil {
			break
		}
		switch v {
		case reports.Inconclusive:
			rep.Inconclusive++
			continue
		case reports.Failed:
		default:
			continue
		}
		rep.Failed++
		f := Found{Schedule: sched, Checks: failedChecks, After: rep.Ran, Elapsed: time.Since(started)}
		f.Path = x.write(fmt.Sprintf("failing-seed-%d.json", sched.Seed), sched)
		x.logf("FAILED after %d schedules in %s: %s\n  failed checks: %s", f.After, f.Elapsed.Round(time.Second), sched.Title(), strings.Join(failedChecks, ", "))
		if o.Shrink && o.ShrinkRuns > 0 {
			x.shrink(ctx, &f, o)
		}
		rep.Found = append(rep.Found, f)
		if !o.KeepGoing {
			break
		}
	}
	rep.Elapsed = time.Since(started)
	return rep
}

// shrink shrinks f's schedule while it fails one of the checks it failed
// (the same bug, not any failure) and writes the smallest schedule.
func (x *Explorer) shrink(ctx context.Context, f *Found, o ExploreOptions) {
	n := 0
	fails := func(ctx context.Context, c explore.Schedule) (bool, error) {
		n++
		v, got := x.Run(ctx, fmt.Sprintf("shrink %d", n), c)
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if v != reports.Failed {
			return false, nil
		}
		for _, name := range got {
			if slices.Contains(f.Checks, name) {
				return true, nil
			}
		}
		return false, nil
	}
	t0 := time.Now()
	res, err := explore.Shrink(ctx, f.Schedule, x.Suite.Base, o.MinFor, o.ShrinkRuns, fails, func(l string) { x.logf("  %s", l) })
	if err != nil && !errors.Is(err, context.Canceled) {
		x.logf("  shrink stopped: %v", err)
	}
	f.Shrunk, f.ShrinkTime = res, time.Since(t0)
	small := res.Schedule
	small.Note = fmt.Sprintf("shrunk by chaos explore from seed %d (%d faults) in %d runs; fails %s", f.Schedule.Seed, res.Before, res.Runs, strings.Join(f.Checks, ", "))
	f.Shrunk.Schedule = small
	f.ShrunkPath = x.write(fmt.Sprintf("shrunk-seed-%d.json", f.Schedule.Seed), small)
	x.logf("shrunk from %d faults to %d in %d runs (%s): %s", res.Before, res.After, res.Runs, f.ShrinkTime.Round(time.Second), small.Title())
}

// write keeps a schedule in Out; the path, or "" when none was written.
func (x *Explorer) write(name string, s explore.Schedule) string {
	if x.Out == "" {
		return ""
	}
	path := filepath.Join(x.Out, name)
	f, err := os.Create(path)
	if err == nil {
		err = s.Write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		x.logf("  write %s: %v", path, err)
		return ""
	}
	return path
}
