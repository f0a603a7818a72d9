package prefs

import (
	"math"
	"testing"
)

func TestWilsonAndBinom(t *testing.T) {
	cases := []struct {
		k, n   int
		lo, hi float64
		p      float64
	}{
		// Reference values from R: binom.test and prop.test(correct=FALSE).
		{7, 10, 0.3968, 0.8922, 0.34375},
		{50, 100, 0.4038, 0.5962, 1},
		{60, 100, 0.5020, 0.6906, 0.05689},
		{0, 20, 0, 0.1611, 1.907e-06},
	}
	for _, c := range cases {
		r := newRate(c.k, c.n, 0.5)
		if math.Abs(r.CILow-c.lo) > 1e-3 || math.Abs(r.CIHigh-c.hi) > 1e-3 {
			t.Errorf("wilson(%d,%d) = [%.4f,%.4f], want [%.4f,%.4f]", c.k, c.n, r.CILow, r.CIHigh, c.lo, c.hi)
		}
		if math.Abs(r.PValue-c.p) > 1e-3*math.Max(c.p, 1e-3) {
			t.Errorf("binomTest(%d,%d) = %.6g, want %.6g", c.k, c.n, r.PValue, c.p)
		}
	}
}

func TestHolm(t *testing.T) {
	got := holm([]float64{0.01, 0.04, 0.03, math.NaN()})
	want := []float64{0.03, 0.06, 0.06}
	for i, w := range want {
		if math.Abs(got[i]-w) > 1e-12 {
			t.Errorf("holm[%d] = %v, want %v", i, got[i], w)
		}
	}
	if !math.IsNaN(got[3]) {
		t.Errorf("holm kept a NaN in the family")
	}
}
