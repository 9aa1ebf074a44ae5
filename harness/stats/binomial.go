// Package stats holds the exact tests behind the harness's statistical
// verdicts: binomial tails, a one-sided rate test, a weighted-split test and
// the number of rounds a run of failures needs. Pure functions, no I/O.
//
// Tails are evaluated directly, never as 1 minus the other tail, so p-values
// far below the smallest false-alarm probability used (1e-6) keep their
// digits (relative error below 1e-8 up to n = 1e6).
package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

func validBinomial(n int, p float64) bool { return n >= 0 && p >= 0 && p <= 1 } // false for NaN

// BinomialUpperTail is P(X >= k) for X ~ Binomial(n, p); NaN when n < 0 or
// p is outside [0, 1].
func BinomialUpperTail(k, n int, p float64) float64 {
	switch {
	case !validBinomial(n, p):
		return math.NaN()
	case k <= 0:
		return 1
	case k > n:
		return 0
	case p == 0:
		return 0
	case p == 1:
		return 1
	}
	// P(X >= k) = I_p(k, n-k+1), on p itself: distuv's Survival is 1 - CDF,
	// which loses every digit in the far upper tail, and going through 1-p
	// would round a tiny p away.
	return mathext.RegIncBeta(float64(k), float64(n-k+1), p)
}

// BinomialLowerTail is P(X <= k) for X ~ Binomial(n, p); NaN when n < 0 or
// p is outside [0, 1].
func BinomialLowerTail(k, n int, p float64) float64 {
	switch {
	case !validBinomial(n, p):
		return math.NaN()
	case k < 0:
		return 0
	case k >= n:
		return 1
	case p == 0:
		return 1
	case p == 1:
		return 0
	}
	// distuv evaluates I_{1-p}(n-k, k+1): the lower tail itself, no
	// subtraction.
	return distuv.Binomial{N: float64(n), P: p}.CDF(float64(k))
}

// firstTrue is the smallest k in [lo, hi] with pred(k), for pred monotone
// (false then true); hi when none is before it.
func firstTrue(lo, hi int, pred func(int) bool) int {
	for lo < hi {
		mid := lo + (hi-lo)/2
		if pred(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
