package train

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestGAE checks advantages and returns on a three-token sequence worked
// by hand; with γ = λ = 1 the advantage is the reward-to-go minus V.
func TestGAE(t *testing.T) {
	rewards, values := []float64{0, 0, 1}, []float64{0.5, 0.6, 0.7}
	cases := []struct {
		gamma, lam float64
		adv        []float64
	}{
		{1, 0.95, []float64{0.46575, 0.385, 0.3}},
		{0.9, 0.5, []float64{0.11425, 0.165, 0.3}},
		{1, 1, []float64{0.5, 0.4, 0.3}},
		{1, 0, []float64{0.1, 0.1, 0.3}}, // one-step TD errors
	}
	for _, tc := range cases {
		adv, ret := GAE(rewards, values, tc.gamma, tc.lam)
		for i := range adv {
			if !near(adv[i], tc.adv[i], 1e-12) || !near(ret[i], tc.adv[i]+values[i], 1e-12) {
				t.Errorf("γ %g λ %g token %d: advantage %g return %g, want %g and %g", tc.gamma, tc.lam, i, adv[i], ret[i], tc.adv[i], tc.adv[i]+values[i])
			}
		}
	}
}

func TestWhiten(t *testing.T) {
	cases := []struct {
		in    []float64
		shift bool
		want  []float64
	}{
		{[]float64{1, 2, 3}, true, []float64{-1, 0, 1}}, // unbiased variance 1
		{[]float64{1, 2, 3}, false, []float64{1, 2, 3}},
		{[]float64{1, 3}, true, []float64{-1 / math.Sqrt2, 1 / math.Sqrt2}},
		{[]float64{4}, true, []float64{4}}, // too few to whiten
	}
	for _, tc := range cases {
		x := append([]float64(nil), tc.in...)
		Whiten(x, tc.shift)
		for i := range x {
			if !near(x[i], tc.want[i], 1e-7) {
				t.Errorf("Whiten(%v, %v) = %v, want %v", tc.in, tc.shift, x, tc.want)
				break
			}
		}
	}
}

// TestClippedPolicyLoss covers each side of the clip for positive and
// negative advantages (ε = 0.2).
func TestClippedPolicyLoss(t *testing.T) {
	cases := []struct {
		name       string
		ratio, adv float64
		loss, grad float64
		clipped    bool
	}{
		{"above, good", 1.5, 1, -1.2, 0, true},
		{"above, bad", 1.5, -1, 1.5, 1.5, false},
		{"below, good", 0.5, 1, -0.5, -0.5, false},
		{"below, bad", 0.5, -1, 0.8, 0, true},
		{"inside", 1.1, 2, -2.2, -2.2, false},
	}
	for _, tc := range cases {
		loss, grad, clipped := ClippedPolicyLoss(math.Log(tc.ratio), 0, tc.adv, 0.2)
		if !near(loss, tc.loss, 1e-12) || !near(grad, tc.grad, 1e-12) || clipped != tc.clipped {
			t.Errorf("%s: loss %g grad %g clipped %v, want %g %g %v", tc.name, loss, grad, clipped, tc.loss, tc.grad, tc.clipped)
		}
		// The gradient is the loss's derivative in newLogp.
		const h = 1e-6
		lp, _, _ := ClippedPolicyLoss(math.Log(tc.ratio)+h, 0, tc.adv, 0.2)
		lm, _, _ := ClippedPolicyLoss(math.Log(tc.ratio)-h, 0, tc.adv, 0.2)
		if fd := (lp - lm) / (2 * h); !near(fd, grad, 1e-5) {
			t.Errorf("%s: gradient %g, finite difference %g", tc.name, grad, fd)
		}
	}
}

func TestClippedValueLoss(t *testing.T) {
	cases := []struct {
		name        string
		v, old, ret float64
		loss, grad  float64
		clipped     bool
	}{
		{"clip helps", 1, 0.5, 0, 0.5, 1, false},
		{"clip hurts", 1, 0.5, 2, 0.845, 0, true},
		{"inside", 0.6, 0.5, 0, 0.18, 0.6, false},
		{"below", 0, 0.5, 1, 0.5, -1, false},
	}
	for _, tc := range cases {
		loss, grad, clipped := ClippedValueLoss(tc.v, tc.old, tc.ret, 0.2)
		if !near(loss, tc.loss, 1e-12) || !near(grad, tc.grad, 1e-12) || clipped != tc.clipped {
			t.Errorf("%s: loss %g grad %g clipped %v, want %g %g %v", tc.name, loss, grad, clipped, tc.loss, tc.grad, tc.clipped)
		}
	}
}
