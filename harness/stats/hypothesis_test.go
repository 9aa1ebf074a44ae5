package stats

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestAtMostRate(t *testing.T) {
	cases := []struct {
		failures, n int
		p0, alpha   float64
		reject      bool
		critical    int
		reason      []string
	}{
		{9, 400, 0.01, 1e-4, false, 14, []string{"H0: each of 400 trials fails with probability <= 0.01", "observed 9", "consistent with H0", "rejects at >= 14 of 400", "false-alarm probability <= 0.0001"}},
		{14, 400, 0.01, 1e-4, true, 14, []string{"observed 14", "H0 rejected"}},
		{13, 400, 0.01, 1e-4, false, 14, nil},
		{0, 0, 0.01, 1e-4, false, 1, []string{"no count of 0 rejects"}},
		{1, 50, 0, 1e-6, true, 1, []string{"P(>= 1 | H0) = 0 < alpha"}}, // H0 "never fails"
		{0, 50, 0, 1e-6, false, 1, nil},
		{50, 50, 1, 1e-6, false, 51, []string{"no count of 50 rejects"}},
		{3, 3, 0.5, 0.2, true, 3, nil}, // P(3 of 3) = 1/8 < 0.2
		{2, 3, 0.5, 0.2, false, 3, nil},
	}
	for _, c := range cases {
		r := AtMostRate(c.failures, c.n, c.p0, c.alpha)
		if r.Err != nil || r.Reject != c.reject || r.Critical != c.critical {
			t.Errorf("AtMostRate(%d, %d, %g, %g) = reject %v critical %d err %v; want %v, %d", c.failures, c.n, c.p0, c.alpha, r.Reject, r.Critical, r.Err, c.reject, c.critical)
		}
		if r.Reject != (r.PValue < c.alpha) {
			t.Errorf("AtMostRate(%d, %d, %g, %g): reject %v but p-value %g", c.failures, c.n, c.p0, c.alpha, r.Reject, r.PValue)
		}
		for _, s := range c.reason {
			if !strings.Contains(r.Reason, s) {
				t.Errorf("reason %q lacks %q", r.Reason, s)
			}
		}
	}
}

func TestAtMostRateInvalidInputRejects(t *testing.T) {
	for _, c := range []struct {
		f, n      int
		p0, alpha float64
	}{{5, 4, 0.1, 0.01}, {-1, 4, 0.1, 0.01}, {1, -4, 0.1, 0.01}, {1, 4, 1.5, 0.01}, {1, 4, math.NaN(), 0.01}, {1, 4, 0.1, 0}, {1, 4, 0.1, 1}, {1, 4, 0.1, math.NaN()}} {
		r := AtMostRate(c.f, c.n, c.p0, c.alpha)
		if r.Err == nil || !r.Reject || !strings.HasPrefix(r.Reason, "invalid") {
			t.Errorf("AtMostRate(%d, %d, %g, %g) = %+v: want an error that rejects", c.f, c.n, c.p0, c.alpha, r)
		}
	}
}

// The false-alarm rate is at most alpha, computed exactly (no simulation):
// under the worst H0 (rate exactly p0) and under lower rates, and Critical
// is the smallest count with that property.
func TestAtMostRateFalseAlarmAtMostAlpha(t *testing.T) {
	for _, n := range []int{1, 5, 20, 100, 1000} {
		for _, p0 := range []float64{1e-4, 0.01, 0.05, 0.3, 0.5, 0.99} {
			for _, alpha := range []float64{1e-6, 1e-4, 0.01, 0.05} {
				c := AtMostRate(0, n, p0, alpha).Critical
				for _, p := range []float64{p0, 0.9 * p0, p0 / 2} {
					if _, fa := exactTails(c, n, p); fa > alpha {
						t.Errorf("n=%d p0=%g alpha=%g: rejects at >= %d, false-alarm probability at rate %g is %g", n, p0, alpha, c, p, fa)
					}
				}
				if _, prev := exactTails(c-1, n, p0); prev < alpha {
					t.Errorf("n=%d p0=%g alpha=%g: critical %d is not the smallest (P(>= %d) = %g)", n, p0, alpha, c, c-1, prev)
				}
			}
		}
	}
}

// Trials need not be independent: here each trial's failure probability
// depends on the failures so far but never exceeds p0. The exact count
// distribution (dynamic programming) still rejects with probability <= alpha.
func TestAtMostRateHoldsForDependentTrials(t *testing.T) {
	const n, p0, alpha = 300, 0.02, 1e-4
	crit := AtMostRate(0, n, p0, alpha).Critical
	rates := map[string]func(i, f int) float64{
		"bursty":  func(i, f int) float64 { return p0 * float64(1+f%2) / 2 }, // p0 right after a failure, p0/2 otherwise
		"decays":  func(i, f int) float64 { return p0 / float64(1+f) },
		"one-off": func(i, f int) float64 { return map[bool]float64{true: p0, false: 0}[i%7 == 0] },
	}
	for name, rate := range rates {
		dist := make([]float64, n+1) // dist[f] = P(f failures so far)
		dist[0] = 1
		for i := range n {
			next := make([]float64, n+1)
			for f, pr := range dist {
				if pr == 0 {
					continue
				}
				q := rate(i, f)
				next[f] += pr * (1 - q)
				if f < n {
					next[f+1] += pr * q
				}
			}
			dist = next
		}
		fa := 0.0
		for f := crit; f <= n; f++ {
			fa += dist[f]
		}
		if fa > alpha {
			t.Errorf("%s: false-alarm probability %g > alpha %g", name, fa, alpha)
		}
	}
}

func TestProportions(t *testing.T) {
	w := map[string]float64{"us-east-1": 50, "eu-west-1": 30, "ap-southeast-1": 20}
	cases := []struct {
		name    string
		counts  map[string]int
		weights map[string]float64
		reject  bool
		worst   string
		reason  []string
	}{
		{"exact split", map[string]int{"us-east-1": 300, "eu-west-1": 180, "ap-southeast-1": 120}, w, false, "",
			[]string{"consistent with the weights", "of 600 sessions", "accepted counts: ap-southeast-1 ", "false-alarm probability <= 0.0001"}},
		{"eu too high", map[string]int{"us-east-1": 270, "eu-west-1": 240, "ap-southeast-1": 90}, w, true, "eu-west-1",
			[]string{"split differs from the weights", "worst eu-west-1 with 240 of 600 sessions (40.0%, expected 30.0%)"}},
		{"all on one", map[string]int{"us-east-1": 600}, w, true, "", nil},
		{"region with no weight", map[string]int{"us-east-1": 300, "eu-west-1": 180, "ap-southeast-1": 119, "": 1}, w, true, "",
			[]string{"worst  with 1 of 600"}},
		{"zero weight, zero count", map[string]int{"a": 10, "b": 0}, map[string]float64{"a": 1, "b": 0}, false, "", nil},
		{"nothing counted", map[string]int{}, w, false, "", []string{"no sessions counted"}},
	}
	for _, c := range cases {
		r := Proportions(c.counts, c.weights, 1e-4, "sessions")
		if r.Err != nil || r.Reject != c.reject || (c.worst != "" && r.Worst.Name != c.worst) {
			t.Errorf("%s: reject %v worst %q err %v; want %v %q (%s)", c.name, r.Reject, r.Worst.Name, r.Err, c.reject, c.worst, r.Reason)
		}
		for _, s := range c.reason {
			if !strings.Contains(r.Reason, s) {
				t.Errorf("%s: reason %q lacks %q", c.name, r.Reason, s)
			}
		}
		checkProportionsConsistent(t, c.name, r)
	}
}

// checkProportionsConsistent: the verdict, the intervals and the p-values
// tell the same story.
func checkProportionsConsistent(t *testing.T, name string, r ProportionsTest) {
	t.Helper()
	m := float64(len(r.Categories))
	anyOut := false
	for _, c := range r.Categories {
		out := c.Count < c.Low || c.Count > c.High
		anyOut = anyOut || out
		if r.N > 0 && out != (c.PValue < r.Alpha/m) {
			t.Errorf("%s: %s count %d, accepted %d..%d, p %g vs alpha/m %g", name, c.Name, c.Count, c.Low, c.High, c.PValue, r.Alpha/m)
		}
		if c.PValue < r.Worst.PValue {
			t.Errorf("%s: %s has p %g below the worst's %g", name, c.Name, c.PValue, r.Worst.PValue)
		}
	}
	if anyOut != r.Reject {
		t.Errorf("%s: reject %v but a count outside its interval: %v", name, r.Reject, anyOut)
	}
}

func TestProportionsInvalidInputRejects(t *testing.T) {
	for name, c := range map[string]struct {
		counts  map[string]int
		weights map[string]float64
		alpha   float64
	}{
		"negative count":  {map[string]int{"a": -1}, map[string]float64{"a": 1}, 0.01},
		"negative weight": {map[string]int{"a": 1}, map[string]float64{"a": -1, "b": 2}, 0.01},
		"NaN weight":      {map[string]int{"a": 1}, map[string]float64{"a": math.NaN()}, 0.01},
		"Inf weight":      {map[string]int{"a": 1}, map[string]float64{"a": math.Inf(1)}, 0.01},
		"no weight":       {map[string]int{"a": 1}, map[string]float64{"a": 0}, 0.01},
		"no categories":   {nil, nil, 0.01},
		"alpha 0":         {map[string]int{"a": 1}, map[string]float64{"a": 1}, 0},
	} {
		r := Proportions(c.counts, c.weights, c.alpha, "sessions")
		if r.Err == nil || !r.Reject || !strings.HasPrefix(r.Reason, "invalid") {
			t.Errorf("%s: %+v, want an error that rejects", name, r)
		}
	}
}

// Family-wise false alarm <= alpha, exactly: sum the multinomial
// probability of every split the test rejects.
func TestProportionsFamilyWiseFalseAlarm(t *testing.T) {
	weights := map[string]float64{"a": 50, "b": 30, "c": 20}
	for _, n := range []int{10, 40, 90} {
		for _, alpha := range []float64{0.01, 0.05, 0.3} {
			fa := 0.0
			lf := func(k int) float64 { v, _ := math.Lgamma(float64(k + 1)); return v }
			for a := 0; a <= n; a++ {
				for b := 0; a+b <= n; b++ {
					c := n - a - b
					r := Proportions(map[string]int{"a": a, "b": b, "c": c}, weights, alpha, "units")
					checkProportionsConsistent(t, fmt.Sprintf("n=%d %d/%d/%d", n, a, b, c), r)
					if r.Reject {
						fa += math.Exp(lf(n) - lf(a) - lf(b) - lf(c) + float64(a)*math.Log(0.5) + float64(b)*math.Log(0.3) + float64(c)*math.Log(0.2))
					}
				}
			}
			if fa > alpha {
				t.Errorf("n=%d alpha=%g: family-wise false-alarm probability %g", n, alpha, fa)
			}
		}
	}
}
