package audit

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestWilsonKnownValues(t *testing.T) {
	// Reference values from Newcombe (1998), Table I.
	cases := []struct {
		k, n   int
		lo, hi float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
	}
	for _, c := range cases {
		s := Wilson(c.k, c.n)
		if !near(s.CILow, c.lo, 5e-4) || !near(s.CIHigh, c.hi, 5e-4) {
			t.Errorf("Wilson(%d,%d) = [%.4f, %.4f], want [%.4f, %.4f]", c.k, c.n, s.CILow, s.CIHigh, c.lo, c.hi)
		}
	}
	if s := Wilson(0, 0); s.CILow != 0 || s.CIHigh != 1 || s.N != 0 {
		t.Errorf("Wilson(0,0) = %+v", s)
	}
}

func TestPairedDiffCoverage(t *testing.T) {
	// Simulate correlated pairs with P(x)=0.7, P(y)=0.55 and check the
	// interval covers the true difference 0.15 near its nominal 95%.
	rng := rand.New(rand.NewPCG(7, 7))
	const trials, n = 1000, 80
	covered := 0
	for range trials {
		var p Pairs
		for range n {
			u := rng.Float64()
			x := u < 0.7
			y := u < 0.55 // strongly correlated with x
			if rng.Float64() < 0.2 {
				y = rng.Float64() < 0.55
			}
			p.Add(x, y)
		}
		if PairedDiff(p).Contains(0.15) {
			covered++
		}
	}
	if cov := float64(covered) / trials; cov < 0.92 || cov > 0.995 {
		t.Errorf("coverage %.3f, want about 0.95", cov)
	}
	// McNemar exact with b=9, c=2: 2*P(X<=2 | n=11) = 2*67/2048.
	s := PairedDiff(Pairs{A: 12, B: 9, C: 2, D: 21})
	if !near(*s.PValue, 2*67.0/2048, 1e-9) || !near(s.Estimate, 7.0/44, 1e-9) {
		t.Errorf("PairedDiff = %+v p=%v", s, *s.PValue)
	}
	if s.CILow > s.Estimate || s.CIHigh < s.Estimate {
		t.Errorf("interval excludes its estimate: %+v", s)
	}
}

func TestUnpairedDiff(t *testing.T) {
	// Newcombe (1998a) example: 56/70 - 48/80 = 0.2, method 10 [0.0524, 0.3339].
	s := UnpairedDiff(56, 70, 48, 80)
	if !near(s.Estimate, 0.2, 1e-9) || !near(s.CILow, 0.0524, 5e-4) || !near(s.CIHigh, 0.3339, 5e-4) {
		t.Errorf("UnpairedDiff = %.4f [%.4f, %.4f]", s.Estimate, s.CILow, s.CIHigh)
	}
}

func TestMcNemarEdges(t *testing.T) {
	if McNemarExact(0, 0) != 1 || McNemarExact(5, 5) != 1 {
		t.Error("balanced discordance should give p = 1")
	}
	if p := McNemarExact(0, 20); p > 1e-5 {
		t.Errorf("p = %v for 0 vs 20", p)
	}
	if p := McNemarExact(3000, 2900); p < 0 || p > 1 {
		t.Errorf("p = %v for large n", p)
	}
}

func TestBootstrapCoversMean(t *testing.T) {
	xs := make([]float64, 200)
	for i := range xs {
		xs[i] = float64(i % 10)
	}
	s := MeanCI(xs, 1)
	if !s.Contains(4.5) || s.CIHigh-s.CILow > 1.5 || s.CIHigh-s.CILow < 0.3 {
		t.Errorf("MeanCI = %+v", s)
	}
}
