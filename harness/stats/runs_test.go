package stats

import (
	"errors"
	"math"
	"testing"
	"time"
)

// noRunRecurrence returns q[0..n]: q[m] = P(no run of `run` successes in m
// trials), by conditioning on the first failure: q[m] = 1 for m < run, else
// the sum over j < run of p^j (1-p) q[m-j-1].
func noRunRecurrence(p float64, run, n int) []float64 {
	q := make([]float64, n+1)
	for m := range q {
		if m < run {
			q[m] = 1
			continue
		}
		pj := 1.0
		for j := range run {
			q[m] += pj * (1 - p) * q[m-j-1]
			pj *= p
		}
	}
	return q
}

// The recurrence itself, against every sequence of up to 14 trials.
func TestNoRunRecurrenceMatchesEnumeration(t *testing.T) {
	for _, p := range []float64{0.3, 0.5, 0.8} {
		for run := 1; run <= 4; run++ {
			q := noRunRecurrence(p, run, 14)
			for n := 0; n <= 14; n++ {
				total := 0.0
				for seq := 0; seq < 1<<n; seq++ {
					pr, cur, hit := 1.0, 0, false
					for i := range n {
						if seq>>i&1 == 1 {
							pr *= p
							cur++
							hit = hit || cur >= run
						} else {
							pr *= 1 - p
							cur = 0
						}
					}
					if !hit {
						total += pr
					}
				}
				if relErr(q[n], total) > 1e-12 {
					t.Fatalf("p=%g run=%d n=%d: recurrence %g, enumeration %g", p, run, n, q[n], total)
				}
			}
		}
	}
}

func TestRoundsForRunKnownValues(t *testing.T) {
	cases := []struct {
		p     float64
		run   int
		alpha float64
		want  int
	}{
		{0.5, 3, 1e-4, 112}, // a region failing half its probes, marked after 3 in a row
		{0.5, 3, 1e-6, 167},
		{0.5, 1, 1e-4, 14}, // 0.5^14 <= 1e-4 < 0.5^13
		{0.5, 2, 0.01, 23},
		{0.9, 3, 1e-6, 24},
		{1, 3, 1e-6, 3}, // certain failures: exactly run rounds
	}
	for _, c := range cases {
		got, err := RoundsNeeded(c.p, c.run, c.alpha)
		if err != nil || got != c.want || RoundsForRun(c.p, c.run, c.alpha) != c.want {
			t.Errorf("RoundsNeeded(%g, %d, %g) = %d, %v; want %d", c.p, c.run, c.alpha, got, err, c.want)
		}
	}
}

// The chain agrees with the recurrence: n is the first count whose miss
// probability is <= alpha.
func TestRoundsForRunIsTheSmallestN(t *testing.T) {
	for _, p := range []float64{0.1, 0.3, 0.5, 0.7, 0.9, 0.99} {
		for _, run := range []int{1, 2, 3, 5, 8} {
			for _, alpha := range []float64{1e-6, 1e-4, 0.05} {
				n, err := RoundsNeeded(p, run, alpha)
				if errors.Is(err, ErrTooManyRounds) {
					continue
				}
				if err != nil {
					t.Fatalf("RoundsNeeded(%g, %d, %g): %v", p, run, alpha, err)
				}
				if n > 200_000 {
					continue // the recurrence is O(n*run): keep the test quick
				}
				q := noRunRecurrence(p, run, n)
				if q[n] > alpha || q[n-1] <= alpha {
					t.Errorf("RoundsNeeded(%g, %d, %g) = %d, but P(miss in n) = %g and in n-1 = %g", p, run, alpha, n, q[n], q[n-1])
				}
			}
		}
	}
}

func TestRoundsForRunGuards(t *testing.T) {
	for _, c := range []struct {
		p     float64
		run   int
		alpha float64
	}{{0, 3, 1e-4}, {-0.5, 3, 1e-4}, {1.5, 3, 1e-4}, {math.NaN(), 3, 1e-4}, {0.5, 0, 1e-4}, {0.5, 3, 0}, {0.5, 3, 1}, {0.5, 3, math.NaN()}} {
		if n, err := RoundsNeeded(c.p, c.run, c.alpha); err == nil || errors.Is(err, ErrTooManyRounds) {
			t.Errorf("RoundsNeeded(%g, %d, %g) = %d, %v; want an input error", c.p, c.run, c.alpha, n, err)
		}
		if n := RoundsForRun(c.p, c.run, c.alpha); n != NoRounds {
			t.Errorf("RoundsForRun(%g, %d, %g) = %d, want NoRounds", c.p, c.run, c.alpha, n)
		}
	}
	// Hopeless inputs fail fast, whether the bound or the cap catches them.
	start := time.Now()
	for _, c := range []struct {
		p     float64
		run   int
		alpha float64
	}{{0.01, 3, 1e-4}, {1e-300, 2, 1e-4}, {0.999, 5000, 1e-4}} {
		if n, err := RoundsNeeded(c.p, c.run, c.alpha); !errors.Is(err, ErrTooManyRounds) || RoundsForRun(c.p, c.run, c.alpha) != NoRounds {
			t.Errorf("RoundsNeeded(%g, %d, %g) = %d, %v; want ErrTooManyRounds", c.p, c.run, c.alpha, n, err)
		}
	}
	// A long run that is nearly certain: one failure (probability about
	// run*(1-p) = 1e-4) costs another run, so n is just under 2*run
	// (first order: 2*run - alpha/(1-p) = 199000). O(1) a trial keeps it quick.
	if n, err := RoundsNeeded(1-1e-9, 100_000, 1e-6); err != nil || n <= 100_000 || n > 200_000 {
		t.Errorf("RoundsNeeded(1-1e-9, 100000, 1e-6) = %d, %v; want just under 200000", n, err)
	}
	t.Logf("hopeless and long-run inputs answered in %v", time.Since(start))
}
