package train

import (
	"math"
	"testing"
)

func TestKLEstimators(t *testing.T) {
	if got := KLk1.Estimate(-1, -2); !near(got, 1, 1e-12) {
		t.Errorf("k1 = %g, want 1", got)
	}
	if got := KLk3.Estimate(-1, -2); !near(got, math.Exp(-1), 1e-12) {
		t.Errorf("k3 = %g, want e^-1", got)
	}
	if got := KLk3.Estimate(-1.5, -1.5); got != 0 {
		t.Errorf("k3 of equal log-probs = %g, want 0", got)
	}
	for _, e := range []KLEstimator{KLk1, KLk3} {
		const h = 1e-6
		fd := (e.Estimate(-1+h, -2) - e.Estimate(-1-h, -2)) / (2 * h)
		if d := e.Derivative(-1, -2); !near(d, fd, 1e-6) {
			t.Errorf("%s derivative %g, finite difference %g", e, d, fd)
		}
	}
	if _, err := ParseKLEstimator("k2"); err == nil {
		t.Error("ParseKLEstimator(k2) succeeded")
	}
}

// TestAdaptiveKLController checks TRL's update on hand-computed steps:
// the error is clipped to ±0.2 and scaled by n/horizon.
func TestAdaptiveKLController(t *testing.T) {
	cases := []struct{ kl, want float64 }{
		{12, 0.2 * 1.00512},      // error clipped to +0.2
		{6.6, 0.2 * 1.00256},     // error 0.1
		{6, 0.2},                 // on target
		{0, 0.2 * (1 - 0.00512)}, // error clipped to −0.2
	}
	for _, tc := range cases {
		c := &AdaptiveKLController{Coef: 0.2, Target: 6, Horizon: 10000}
		c.Update(tc.kl, 256)
		if !near(c.Value(), tc.want, 1e-12) {
			t.Errorf("KL %g: coefficient %.9g, want %.9g", tc.kl, c.Value(), tc.want)
		}
	}
	// Repeated high KL keeps raising the coefficient; a fixed one never moves.
	c := &AdaptiveKLController{Coef: 0.1, Target: 1, Horizon: 100}
	f := &FixedKLController{Coef: 0.1}
	for range 10 {
		c.Update(5, 10)
		f.Update(5, 10)
	}
	if !near(c.Value(), 0.1*math.Pow(1.02, 10), 1e-12) || f.Value() != 0.1 {
		t.Errorf("after 10 updates: adaptive %g, fixed %g", c.Value(), f.Value())
	}
}
