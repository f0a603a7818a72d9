package model

import (
	"math"
	"testing"
)

// TestMathf checks expf and tanhf against float64 math over their working
// range, to a few float32 ulp, and at the edges.
func TestMathf(t *testing.T) {
	for x := float32(-87); x < 88; x += 0.01953125 {
		want := math.Exp(float64(x))
		if got := float64(expf(x)); math.Abs(got-want) > 4e-7*want {
			t.Fatalf("expf(%v) = %v, want %v", x, got, want)
		}
	}
	for x := float32(-12); x < 12; x += 0.0009765625 {
		want := math.Tanh(float64(x))
		if got := float64(tanhf(x)); math.Abs(got-want) > 3e-7*math.Max(math.Abs(want), 1e-3) {
			t.Fatalf("tanhf(%v) = %v, want %v", x, got, want)
		}
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, c := range []struct{ got, want float32 }{
		{expf(-inf), 0}, {expf(inf), inf}, {expf(-100), 0}, {expf(0), 1},
		{tanhf(inf), 1}, {tanhf(-inf), -1}, {tanhf(0), 0},
	} {
		if c.got != c.want {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}
	if expf(nan) == expf(nan) || tanhf(nan) == tanhf(nan) {
		t.Error("NaN in, not NaN out")
	}
}
