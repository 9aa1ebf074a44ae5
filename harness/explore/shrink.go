package explore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/agentops/failover-harness/harness/topology"
)

// Candidate is a schedule one shrinking step smaller, and the step.
type Candidate struct {
	Schedule Schedule
	What     string
}

// Candidates lists the schedules one step smaller than s, the biggest
// reductions first: drop a fault; narrow an isolated region to one of its
// links; halve a fault's length (not below minFor); inject it earlier.
// Each candidate's duration ends with its last fault.
func Candidates(s Schedule, spec topology.Spec, minFor time.Duration) []Candidate {
	var out []Candidate
	with := func(what string, edit func(steps []Step) []Step) {
		c := s
		c.Steps = edit(slices.Clone(s.Steps))
		c.Duration = 0
		for _, st := range c.Steps {
			c.Duration = max(c.Duration, Duration(st.End()))
		}
		out = append(out, Candidate{Schedule: c, What: what})
	}
	if len(s.Steps) > 1 {
		for i, st := range s.Steps {
			with("drop "+st.String(), func(steps []Step) []Step { return slices.Delete(steps, i, i+1) })
		}
	}
	for i, st := range s.Steps {
		if st.Kind != KindIsolate {
			continue
		}
		for _, l := range topology.RegionLinks(spec, st.Region) {
			with(fmt.Sprintf("narrow %s to partition(%s)", st.String(), l), func(steps []Step) []Step {
				steps[i] = Step{Kind: KindPartition, Link: l, At: st.At, For: st.For}
				return steps
			})
		}
	}
	for i, st := range s.Steps {
		if half := st.For / 2; half.D() >= minFor {
			with(fmt.Sprintf("shorten %s to %v", st.String(), half), func(steps []Step) []Step {
				steps[i].For = half
				return steps
			})
		}
	}
	for i, st := range s.Steps {
		if earlier := (st.At / 2).D().Round(time.Millisecond); st.At.D()-earlier >= minFor {
			with(fmt.Sprintf("inject %s at %v", st.String(), earlier), func(steps []Step) []Step {
				steps[i].At = Duration(earlier)
				return steps
			})
		}
	}
	// Candidates that break a rule (two stops of one region overlapping
	// after a move) are not tried.
	valid := out[:0]
	for _, c := range out {
		if c.Schedule.Validate(spec) == nil {
			valid = append(valid, c)
		}
	}
	return valid
}

// Shrunk is what Shrink did.
type Shrunk struct {
	Schedule Schedule
	Runs     int      // schedules run while shrinking
	Steps    []string // the reductions kept, in order
	Before   int      // faults before
	After    int      // faults after
}

// Shrink minimizes a failing schedule greedily: it tries the candidates in
// order, keeps the first that still fails (fails reports that), and starts
// over from it, until no candidate fails or maxRuns schedules have run.
// A candidate that passed by chance only leaves the schedule bigger, never
// wrong: every kept reduction failed when it ran.
func Shrink(ctx context.Context, s Schedule, spec topology.Spec, minFor time.Duration, maxRuns int, fails func(context.Context, Schedule) (bool, error), log func(string)) (Shrunk, error) {
	out := Shrunk{Schedule: s, Before: len(s.Steps)}
	if log == nil {
		log = func(string) {}
	}
	for {
		progressed := false
		for _, c := range Candidates(out.Schedule, spec, minFor) {
			if out.Runs >= maxRuns {
				log(fmt.Sprintf("shrink: stopped after %d runs (the limit)", out.Runs))
				out.After = len(out.Schedule.Steps)
				return out, nil
			}
			if err := ctx.Err(); err != nil {
				out.After = len(out.Schedule.Steps)
				return out, err
			}
			out.Runs++
			failed, err := fails(ctx, c.Schedule)
			if err != nil {
				out.After = len(out.Schedule.Steps)
				return out, err
			}
			log(fmt.Sprintf("shrink run %d: %s: %s", out.Runs, c.What, map[bool]string{true: "still fails, kept", false: "passes, dropped"}[failed]))
			if failed {
				out.Schedule = c.Schedule
				out.Steps = append(out.Steps, c.What)
				progressed = true
				break
			}
		}
		if !progressed {
			out.After = len(out.Schedule.Steps)
			return out, nil
		}
	}
}
