package stats

import (
	"errors"
	"fmt"
	"math"
)

// MaxRounds caps RoundsForRun: a bound needing more rounds than this is
// useless to a test run.
const MaxRounds = 1_000_000

// ErrTooManyRounds is returned by RoundsNeeded when more than MaxRounds
// trials would be needed.
var ErrTooManyRounds = errors.New("stats: more than MaxRounds trials needed")

// NoRounds is what RoundsForRun returns when RoundsNeeded fails. It is
// negative so that a bound built from it is too short and fails loudly
// rather than being vacuously long.
const NoRounds = -1

// RoundsForRun is the smallest number of independent trials n such that
// P(no run of `run` consecutive successes within n trials) <= alpha, when
// each trial succeeds with probability p. For example a region failing 50%
// of health probes reaches 3 consecutive failures (and is marked down)
// within RoundsForRun(0.5, 3, alpha) rounds with probability >= 1-alpha.
// It returns NoRounds for invalid inputs (p <= 0, run < 1, alpha outside
// (0, 1)) or when more than MaxRounds trials would be needed; RoundsNeeded
// says why.
func RoundsForRun(p float64, run int, alpha float64) int {
	n, err := RoundsNeeded(p, run, alpha)
	if err != nil {
		return NoRounds
	}
	return n
}

// RoundsNeeded is RoundsForRun with an error instead of the sentinel.
//
// The computation is exact: a Markov chain over the current run length,
// tracking the probability of never having completed a run (summed
// directly rather than taken as 1 minus the absorbed mass, so it stays
// accurate near alpha).
func RoundsNeeded(p float64, run int, alpha float64) (int, error) {
	switch {
	case !(p > 0 && p <= 1):
		return 0, fmt.Errorf("stats: RoundsNeeded: p must be in (0, 1], got %g", p)
	case run < 1:
		return 0, fmt.Errorf("stats: RoundsNeeded: run must be >= 1, got %d", run)
	case checkAlpha(alpha) != nil:
		return 0, fmt.Errorf("stats: RoundsNeeded: %v", checkAlpha(alpha))
	case p == 1:
		return run, nil
	}
	// A run completes at trial j only if trials j-run+1..j succeed (and,
	// for j > run, trial j-run failed), so P(done by n) <= p^run +
	// (n-run)(1-p)p^run: reject hopeless inputs without iterating.
	pr := math.Pow(p, float64(run))
	if lower := float64(run) + (1-alpha-pr)/((1-p)*pr); !(lower <= MaxRounds) {
		return 0, fmt.Errorf("%w: p=%g run=%d alpha=%g needs at least %.3g", ErrTooManyRounds, p, run, alpha, lower)
	}
	// The probability of current run length i with no run completed yet is
	// t[(head+i)%run] * p^i. Scaled that way, a trial shifts every length up
	// by one without changing t, so it is a ring rotation: O(1) a trial.
	pow := make([]float64, run) // p^i
	pow[0] = 1
	for i := 1; i < run; i++ {
		pow[i] = pow[i-1] * p
	}
	t := make([]float64, run)
	t[0] = 1
	head, mass := 0, 1.0 // mass: P(no run completed yet)
	for n := 1; n <= MaxRounds; n++ {
		last := (head + run - 1) % run
		done := pr * t[last] // length run-1, then a success
		head = last          // every other length grows by one
		t[head] = (1 - p) * mass
		mass -= done
		if n%run == 0 { // drop accumulated rounding: resum the states
			mass = 0
			for i := range run {
				mass += t[(head+i)%run] * pow[i]
			}
		}
		if mass <= alpha {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: p=%g run=%d alpha=%g", ErrTooManyRounds, p, run, alpha)
}
