package prefs

import (
	"math"
	"sort"
)

// Rate is a proportion with its 95% Wilson score interval and a two-sided
// binomial test against Null (exact up to n = 5000, normal approximation
// with continuity correction beyond).
type Rate struct {
	N      int     `json:"n"`
	K      int     `json:"k"`
	Rate   float64 `json:"rate"`
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
	Null   float64 `json:"null"`
	PValue float64 `json:"p_value"`
}

const z95 = 1.959963984540054

// newRate computes a Rate for k successes out of n against null p0.
func newRate(k, n int, p0 float64) Rate {
	r := Rate{N: n, K: k, Null: p0, PValue: 1}
	if n == 0 {
		return r
	}
	r.Rate = float64(k) / float64(n)
	r.CILow, r.CIHigh = wilson(k, n, z95)
	r.PValue = binomTest(k, n, p0)
	return r
}

// wilson returns the Wilson score interval for k/n.
func wilson(k, n int, z float64) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	c := (p + z2/(2*nf)) / den
	h := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	return math.Max(0, c-h), math.Min(1, c+h)
}

// binomTest is the two-sided binomial test p-value of k successes in n
// trials with success probability p0 (the exact test sums the outcomes no
// more likely than the observed one).
func binomTest(k, n int, p0 float64) float64 {
	if n == 0 {
		return 1
	}
	if n > 5000 {
		mu := float64(n) * p0
		sd := math.Sqrt(float64(n) * p0 * (1 - p0))
		d := math.Abs(float64(k)-mu) - 0.5
		if d < 0 {
			return 1
		}
		return math.Min(1, math.Erfc(d/sd/math.Sqrt2))
	}
	lp := func(i int) float64 {
		a, _ := math.Lgamma(float64(n + 1))
		b, _ := math.Lgamma(float64(i + 1))
		c, _ := math.Lgamma(float64(n - i + 1))
		return a - b - c + float64(i)*math.Log(p0) + float64(n-i)*math.Log1p(-p0)
	}
	obs := lp(k)
	var p float64
	for i := 0; i <= n; i++ {
		if l := lp(i); l <= obs+1e-7 {
			p += math.Exp(l)
		}
	}
	return math.Min(1, p)
}

// holm adjusts p-values for multiple testing (Holm-Bonferroni, controls the
// family-wise error rate); NaN entries are left out of the family.
func holm(ps []float64) []float64 {
	idx := make([]int, 0, len(ps))
	for i, p := range ps {
		if !math.IsNaN(p) {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	out := make([]float64, len(ps))
	for i := range out {
		out[i] = math.NaN()
	}
	m := len(idx)
	run := 0.0
	for r, i := range idx {
		adj := math.Min(1, float64(m-r)*ps[i])
		run = math.Max(run, adj)
		out[i] = run
	}
	return out
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
