package audit

import (
	"math"
	"math/rand/v2"
	"slices"
)

// z95 is the standard normal quantile for two-sided 95% intervals.
const z95 = 1.959963984540054

// Stat is an estimate with a 95% confidence interval, its sample size and
// the method behind the interval (and test, where there is one).
type Stat struct {
	Estimate float64 `json:"estimate"`
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
	N        int     `json:"n"`
	// Test names the interval method and any hypothesis test.
	Test string `json:"test"`
	// PValue is the test's two-sided p-value, when there is a test.
	PValue *float64 `json:"p_value,omitempty"`
}

// Contains reports whether v lies inside the interval.
func (s Stat) Contains(v float64) bool { return v >= s.CILow-1e-12 && v <= s.CIHigh+1e-12 }

func pval(p float64) *float64 { return &p }

// Wilson returns the rate k/n with its Wilson score interval, which, unlike
// the normal approximation, stays inside [0, 1] and behaves at 0 and n.
// With n = 0 it returns estimate 0 and the vacuous interval [0, 1].
func Wilson(k, n int) Stat {
	if n <= 0 {
		return Stat{Estimate: 0, CILow: 0, CIHigh: 1, N: 0, Test: "Wilson score 95% CI (no data)"}
	}
	lo, hi := wilsonBounds(k, n)
	return Stat{Estimate: float64(k) / float64(n), CILow: lo, CIHigh: hi, N: n, Test: "Wilson score 95% CI"}
}

func wilsonBounds(k, n int) (float64, float64) {
	if n == 0 {
		return 0, 1
	}
	p := float64(k) / float64(n)
	nf := float64(n)
	z2 := z95 * z95
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	return math.Max(0, center-half), math.Min(1, center+half)
}

// Pairs counts paired binary outcomes (x, y) per unit: A both 1, B x only,
// C y only, D neither.
type Pairs struct{ A, B, C, D int }

// Add counts one pair.
func (p *Pairs) Add(x, y bool) {
	switch {
	case x && y:
		p.A++
	case x:
		p.B++
	case y:
		p.C++
	default:
		p.D++
	}
}

// N is the number of pairs.
func (p Pairs) N() int { return p.A + p.B + p.C + p.D }

// PairedDiff returns P(x) - P(y) for paired binary outcomes with
// Newcombe's (1998, method 10) hybrid score interval, which accounts for
// the correlation within pairs, and McNemar's exact test on the discordant
// pairs.
func PairedDiff(p Pairs) Stat {
	n := p.N()
	if n == 0 {
		return Stat{CILow: -1, CIHigh: 1, Test: "paired difference, Newcombe hybrid score 95% CI; McNemar exact test (no data)", PValue: pval(1)}
	}
	nf := float64(n)
	p1 := float64(p.A+p.B) / nf
	p2 := float64(p.A+p.C) / nf
	l1, u1 := wilsonBounds(p.A+p.B, n)
	l2, u2 := wilsonBounds(p.A+p.C, n)
	// phi is the within-pair correlation with Newcombe's correction: the
	// positive part of ad-bc shrunk by n/2, a negative part kept as is.
	phi := 0.0
	a, b, c, d := float64(p.A), float64(p.B), float64(p.C), float64(p.D)
	if den := (a + b) * (c + d) * (a + c) * (b + d); den > 0 {
		adbc := a*d - b*c
		switch {
		case adbc > nf/2:
			phi = (adbc - nf/2) / math.Sqrt(den)
		case adbc < 0:
			phi = adbc / math.Sqrt(den)
		}
	}
	theta := p1 - p2
	lo := theta - math.Sqrt(math.Max(0, sq(p1-l1)-2*phi*(p1-l1)*(u2-p2)+sq(u2-p2)))
	hi := theta + math.Sqrt(math.Max(0, sq(u1-p1)-2*phi*(u1-p1)*(p2-l2)+sq(p2-l2)))
	return Stat{Estimate: theta, CILow: math.Max(-1, lo), CIHigh: math.Min(1, hi), N: n,
		Test: "paired difference, Newcombe hybrid score 95% CI; McNemar exact test", PValue: pval(McNemarExact(p.B, p.C))}
}

// UnpairedDiff returns k1/n1 - k2/n2 for independent samples with
// Newcombe's hybrid score interval (method 10, independent case).
func UnpairedDiff(k1, n1, k2, n2 int) Stat {
	if n1 == 0 || n2 == 0 {
		return Stat{CILow: -1, CIHigh: 1, N: n1 + n2, Test: "difference of independent rates, Newcombe hybrid score 95% CI (no data)"}
	}
	p1, p2 := float64(k1)/float64(n1), float64(k2)/float64(n2)
	l1, u1 := wilsonBounds(k1, n1)
	l2, u2 := wilsonBounds(k2, n2)
	theta := p1 - p2
	return Stat{Estimate: theta, CILow: theta - math.Sqrt(sq(p1-l1)+sq(u2-p2)), CIHigh: theta + math.Sqrt(sq(u1-p1)+sq(p2-l2)),
		N: n1 + n2, Test: "difference of independent rates, Newcombe hybrid score 95% CI"}
}

func sq(x float64) float64 { return x * x }

// McNemarExact is the two-sided exact McNemar test: with b and c the
// discordant counts, twice the smaller binomial(b+c, 1/2) tail, capped at 1.
func McNemarExact(b, c int) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	k := min(b, c)
	// Sum the tail in log space: n can be large.
	tail := 0.0
	for i := 0; i <= k; i++ {
		tail += math.Exp(logChoose(n, i) - float64(n)*math.Ln2)
	}
	return math.Min(1, 2*tail)
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// Bootstrap returns the percentile 95% interval of stat over resamples
// of n units (drawn with replacement, seeded). stat receives the indices
// of a resample; resamples where it returns NaN are skipped.
func Bootstrap(n, resamples int, seed uint64, stat func(idx []int) float64) (lo, hi float64) {
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	rng := rand.New(rand.NewPCG(seed, 0xb007))
	idx := make([]int, n)
	vals := make([]float64, 0, resamples)
	for range resamples {
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		if v := stat(idx); !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(vals)
	return quantile(vals, 0.025), quantile(vals, 0.975)
}

// quantile interpolates the q-quantile of sorted values.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}

// MeanCI returns the mean of xs with a percentile bootstrap 95% interval.
func MeanCI(xs []float64, seed uint64) Stat {
	if len(xs) == 0 {
		return Stat{Test: "mean, percentile bootstrap 95% CI (no data)"}
	}
	m := mean(xs)
	lo, hi := Bootstrap(len(xs), 2000, seed, func(idx []int) float64 {
		s := 0.0
		for _, i := range idx {
			s += xs[i]
		}
		return s / float64(len(idx))
	})
	return Stat{Estimate: m, CILow: lo, CIHigh: hi, N: len(xs), Test: "mean, percentile bootstrap 95% CI (2000 resamples)"}
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
