package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Test is the outcome of AtMostRate.
type Test struct {
	// Reject: the observation is implausible under H0. Also true when the
	// input is invalid (Err says why), so a broken check fails loudly
	// instead of passing.
	Reject bool
	// PValue is P(X >= observed | H0): the chance of this many failures or
	// more if the rate bound held.
	PValue float64
	Alpha  float64 // false-alarm probability: P(Reject | H0) <= Alpha
	// Critical is the smallest count k with P(X >= k | H0) < Alpha: the test
	// rejects at >= Critical failures; N+1 when no count can reject.
	Critical int
	N        int
	Observed int
	Reason   string // one line: H0, n, observed, p-value, alpha
	Err      error
}

func checkAlpha(alpha float64) error {
	if !(alpha > 0 && alpha < 1) {
		return fmt.Errorf("alpha must be in (0, 1), got %g", alpha)
	}
	return nil
}

// AtMostRate tests H0 "each trial fails with probability at most p0, given
// all the trials before it" against the observed failures out of n.
//
// The trials need not be independent or identical: if each one's
// conditional failure probability is at most p0, the failure count is
// stochastically dominated by Binomial(n, p0) (couple each trial with a
// uniform draw), so P(count >= k) <= P(Bin(n, p0) >= k) and rejecting at
// Critical keeps the false-alarm probability below alpha. One-sided: only
// too many failures reject.
func AtMostRate(failures, n int, p0, alpha float64) Test {
	t := Test{Alpha: alpha, N: n, Observed: failures}
	var err error
	switch {
	case checkAlpha(alpha) != nil:
		err = checkAlpha(alpha)
	case n < 0 || failures < 0 || failures > n:
		err = fmt.Errorf("need 0 <= failures <= n, got %d of %d", failures, n)
	case !(p0 >= 0 && p0 <= 1):
		err = fmt.Errorf("p0 must be in [0, 1], got %g", p0)
	}
	if err != nil {
		return Test{Reject: true, PValue: math.NaN(), Alpha: alpha, N: n, Observed: failures, Critical: -1,
			Err: err, Reason: "invalid rate test: " + err.Error()}
	}
	t.PValue = BinomialUpperTail(failures, n, p0)
	t.Critical = firstTrue(1, n+1, func(k int) bool { return BinomialUpperTail(k, n, p0) < alpha })
	// Decide on the count, so the verdict always matches "rejects at >= Critical".
	t.Reject = failures >= t.Critical
	verdict := fmt.Sprintf("P(>= %d | H0) = %.3g >= alpha: consistent with H0", failures, t.PValue)
	if t.Reject {
		verdict = fmt.Sprintf("P(>= %d | H0) = %.3g < alpha: H0 rejected", failures, t.PValue)
	}
	crit := fmt.Sprintf("rejects at >= %d of %d", t.Critical, n)
	if t.Critical > n {
		crit = fmt.Sprintf("no count of %d rejects", n)
	}
	t.Reason = fmt.Sprintf("H0: each of %d trials fails with probability <= %g given those before it; observed %d; %s (%s; false-alarm probability <= %g)",
		n, p0, failures, verdict, crit, alpha)
	return t
}

// Category is one category of a Proportions test.
type Category struct {
	Name      string
	Count     int
	Observed  float64 // Count / N
	Expected  float64 // its weight over the sum of weights
	Deviation float64 // Observed - Expected
	// PValue is the exact two-sided binomial p-value of Count against
	// Binomial(N, Expected) (twice the smaller tail, at most 1), before the
	// Bonferroni correction.
	PValue float64
	// Low and High bound the counts the test accepts for this category at
	// this N: outside [Low, High] the test rejects.
	Low, High int
}

// ProportionsTest is the outcome of Proportions.
type ProportionsTest struct {
	// Reject: some category's count is outside its accepted interval. Also
	// true when the input is invalid (Err says why).
	Reject     bool
	Alpha      float64 // family-wise false-alarm probability bound
	N          int     // units counted
	Unit       string  // what was counted ("sessions")
	Worst      Category
	PValue     float64    // Worst.PValue times the number of categories, at most 1
	Categories []Category // sorted by name
	Reason     string
	Err        error
}

// Proportions tests H0 "each unit falls in category c with probability
// weights[c] / sum(weights), independently" against counts. Each category's
// count is marginally Binomial(N, share) under H0; it gets an exact
// two-sided test at alpha/m (m categories, Bonferroni), so a correct split
// is rejected with probability at most alpha whatever the dependence
// between the counts. A category with a count but no weight has share 0:
// any count there rejects. unit names what was counted, for Reason.
func Proportions(counts map[string]int, weights map[string]float64, alpha float64, unit string) ProportionsTest {
	res := ProportionsTest{Alpha: alpha, Unit: unit}
	invalid := func(err error) ProportionsTest {
		res.Reject, res.PValue, res.Err = true, math.NaN(), err
		res.Reason = "invalid proportions test: " + err.Error()
		return res
	}
	if err := checkAlpha(alpha); err != nil {
		return invalid(err)
	}
	names := map[string]bool{}
	total := 0.0
	for name, w := range weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return invalid(fmt.Errorf("weight of %q must be finite and >= 0, got %g", name, w))
		}
		names[name] = true
		total += w
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return invalid(errors.New("the weights must have a positive, finite sum"))
	}
	for name, c := range counts {
		if c < 0 {
			return invalid(fmt.Errorf("count of %q is negative (%d)", name, c))
		}
		names[name] = true
		res.N += c
	}
	order := make([]string, 0, len(names))
	for name := range names {
		order = append(order, name)
	}
	slices.Sort(order)
	m := len(order)
	half := alpha / float64(2*m) // each tail of each category
	n := res.N
	for _, name := range order {
		share := weights[name] / total
		c := Category{Name: name, Count: counts[name], Expected: share, PValue: 1}
		if n > 0 {
			c.Observed = float64(c.Count) / float64(n)
			c.PValue = min(1, 2*min(BinomialLowerTail(c.Count, n, share), BinomialUpperTail(c.Count, n, share)))
		}
		c.Deviation = c.Observed - c.Expected
		// Accepted: both tails at the count are >= half.
		c.Low = firstTrue(0, n, func(k int) bool { return BinomialLowerTail(k, n, share) >= half })
		c.High = firstTrue(0, n+1, func(k int) bool { return BinomialUpperTail(k, n, share) < half }) - 1
		if c.Count < c.Low || c.Count > c.High {
			res.Reject = true
		}
		res.Categories = append(res.Categories, c)
	}
	res.Worst = res.Categories[0]
	for _, c := range res.Categories[1:] {
		if c.PValue < res.Worst.PValue || (c.PValue == res.Worst.PValue && math.Abs(c.Deviation) > math.Abs(res.Worst.Deviation)) {
			res.Worst = c
		}
	}
	res.PValue = min(1, res.Worst.PValue*float64(m))
	if n == 0 {
		res.Reason = fmt.Sprintf("no %s counted: nothing to test", unit)
		return res
	}
	verdict := "consistent with the weights"
	if res.Reject {
		verdict = "split differs from the weights"
	}
	accepted := make([]string, 0, m)
	for _, c := range res.Categories {
		accepted = append(accepted, fmt.Sprintf("%s %d..%d", c.Name, c.Low, c.High))
	}
	w := res.Worst
	res.Reason = fmt.Sprintf("%s: worst %s with %d of %d %s (%.1f%%, expected %.1f%%), two-sided p = %.3g (x%d categories = %.3g); accepted counts: %s; false-alarm probability <= %g",
		verdict, w.Name, w.Count, n, unit, 100*w.Observed, 100*w.Expected, w.PValue, m, res.PValue, strings.Join(accepted, ", "), alpha)
	return res
}
