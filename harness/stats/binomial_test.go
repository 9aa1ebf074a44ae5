package stats

import (
	"math"
	"math/big"
	"testing"
)

const refPrec = 320

// exactTails returns P(X <= k) and P(X >= k) for X ~ Bin(n, p), p taken
// exactly as the float64 it is, summed in 320-bit floats.
func exactTails(k, n int, p float64) (lower, upper float64) {
	bf := func(x float64) *big.Float { return new(big.Float).SetPrec(refPrec).SetFloat64(x) }
	bp := bf(p)
	q := new(big.Float).SetPrec(refPrec).Sub(bf(1), bp)
	pmf := bf(1)
	base := new(big.Float).SetPrec(refPrec).Copy(q)
	for e := n; e > 0; e >>= 1 { // q^n
		if e&1 == 1 {
			pmf.Mul(pmf, base)
		}
		base.Mul(base, base)
	}
	lo, up := bf(0), bf(0)
	for j := 0; j <= n; j++ {
		if j <= k {
			lo.Add(lo, pmf)
		}
		if j >= k {
			up.Add(up, pmf)
		}
		if j == n {
			break
		}
		// pmf(j+1) = pmf(j) * (n-j)/(j+1) * p/q
		pmf.Mul(pmf, new(big.Float).SetPrec(refPrec).SetInt64(int64(n-j)))
		pmf.Mul(pmf, bp)
		pmf.Quo(pmf, new(big.Float).SetPrec(refPrec).SetInt64(int64(j+1)))
		pmf.Quo(pmf, q)
	}
	l, _ := lo.Float64()
	u, _ := up.Float64()
	return l, u
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}

func TestBinomialTailEdges(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name         string
		k, n         int
		p            float64
		upper, lower float64
	}{
		{"k<0", -1, 10, 0.3, 1, 0},
		{"k=0", 0, 10, 0.3, 1, math.Pow(0.7, 10)},
		{"k=n", 10, 10, 0.3, math.Pow(0.3, 10), 1},
		{"k>n", 11, 10, 0.3, 0, 1},
		{"n=0", 0, 0, 0.3, 1, 1},
		{"p=0 k=0", 0, 10, 0, 1, 1},
		{"p=0 k=1", 1, 10, 0, 0, 1},
		{"p=1 k=n", 10, 10, 1, 1, 1},
		{"p=1 k=n-1", 9, 10, 1, 1, 0},
		{"p<0", 1, 10, -0.1, nan, nan},
		{"p>1", 1, 10, 1.1, nan, nan},
		{"p NaN", 1, 10, nan, nan, nan},
		{"n<0", 1, -1, 0.5, nan, nan},
	}
	same := func(a, b float64) bool { return (math.IsNaN(a) && math.IsNaN(b)) || relErr(a, b) < 1e-14 }
	for _, c := range cases {
		if got := BinomialUpperTail(c.k, c.n, c.p); !same(got, c.upper) {
			t.Errorf("%s: BinomialUpperTail(%d, %d, %g) = %g, want %g", c.name, c.k, c.n, c.p, got, c.upper)
		}
		if got := BinomialLowerTail(c.k, c.n, c.p); !same(got, c.lower) {
			t.Errorf("%s: BinomialLowerTail(%d, %d, %g) = %g, want %g", c.name, c.k, c.n, c.p, got, c.lower)
		}
	}
}

// Both tails keep their relative precision far out, where 1 - other tail
// would be 0 or noise.
func TestBinomialTailsMatchExactSums(t *testing.T) {
	ps := []float64{1e-9, 1e-6, 1e-3, 0.01, 0.3, 0.5, 0.77, 0.999, 1 - 1e-7}
	for _, n := range []int{1, 2, 7, 50, 400, 2000} {
		for _, p := range ps {
			var ks []int
			if n <= 50 {
				for k := 0; k <= n; k++ {
					ks = append(ks, k)
				}
			} else {
				mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
				for _, z := range []float64{-40, -12, -6, -3, -1, 0, 1, 3, 6, 12, 40} {
					if k := int(math.Round(mean + z*max(sd, 1))); k >= 0 && k <= n {
						ks = append(ks, k)
					}
				}
				ks = append(ks, 0, 1, n-1, n)
			}
			for _, k := range ks {
				lo, up := exactTails(k, n, p)
				for _, c := range []struct {
					name      string
					got, want float64
				}{{"upper", BinomialUpperTail(k, n, p), up}, {"lower", BinomialLowerTail(k, n, p), lo}} {
					if c.want < 1e-290 { // below float64's normal range
						continue
					}
					if e := relErr(c.got, c.want); e > 1e-10 {
						t.Errorf("%s tail k=%d n=%d p=%g: %.17g, exact %.17g (relative error %.2g)", c.name, k, n, p, c.got, c.want, e)
					}
				}
			}
		}
	}
}
