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

// TestVectorKernels checks the vector paths (AVX2 where available, else the
// scalar loops again) against float64 math over wide inputs, with lengths
// that leave a scalar tail, and that NaN passes through.
func TestVectorKernels(t *testing.T) {
	for _, n := range []int{5, 8, 37, 1027} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i%97-60) * 1.37 // about −82 to 49
		}
		orig := append([]float32(nil), x...)
		sum := expSubSum(x, 3)
		want := 0.0
		for i, v := range orig {
			e := math.Exp(float64(v - 3)) // the kernel subtracts in float32
			want += e
			if math.Abs(float64(x[i])-e) > 4e-7*e+1e-37 {
				t.Fatalf("n=%d: exp(%v − 3) = %v, want %v", n, v, x[i], e)
			}
		}
		if math.Abs(sum-want) > 1e-6*want {
			t.Fatalf("n=%d: sum %v, want %v", n, sum, want)
		}

		in := make([]float32, n)
		for i := range in {
			in[i] = float32(i%101-50) * 0.21 // about −10.5 to 10.5
		}
		out, din, dout := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range dout {
			dout[i] = 1.5
		}
		geluForward(out, in)
		geluBackward(din, in, dout)
		for i, v := range in {
			x := float64(v)
			u := math.Sqrt(2/math.Pi) * (x + 0.044715*x*x*x)
			th := math.Tanh(u)
			g := 0.5 * x * (1 + th)
			dg := 1.5 * (0.5*(1+th) + 0.5*x*(1-th*th)*math.Sqrt(2/math.Pi)*(1+3*0.044715*x*x))
			if math.Abs(float64(out[i])-g) > 1e-6*math.Max(1, math.Abs(g)) {
				t.Fatalf("n=%d: gelu(%v) = %v, want %v", n, v, out[i], g)
			}
			if math.Abs(float64(din[i])-dg) > 2e-6*math.Max(1, math.Abs(dg)) {
				t.Fatalf("n=%d: gelu'(%v)·1.5 = %v, want %v", n, v, din[i], dg)
			}
		}
	}
	for _, n := range []int{3, 16, 45} {
		g, u, d := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range g {
			g[i], u[i], d[i] = float32(i%23-11)*0.9, float32(i%7)-3, 0.5+float32(i%3)
		}
		out, dg, du := make([]float32, n), make([]float32, n), make([]float32, n)
		swigluForward(out, g, u)
		swigluBackward(dg, du, d, g, u)
		for i := range g {
			x, up, do := float64(g[i]), float64(u[i]), float64(d[i])
			sig := 1 / (1 + math.Exp(-x))
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"out", float64(out[i]), x * sig * up},
				{"dup", float64(du[i]), do * x * sig},
				{"dgate", float64(dg[i]), do * up * sig * (1 + x*(1-sig))},
			} {
				if math.Abs(c.got-c.want) > 2e-6*math.Max(1, math.Abs(c.want)) {
					t.Fatalf("n=%d, swiglu %s at gate %v: %v, want %v", n, c.name, x, c.got, c.want)
				}
			}
		}
	}
	nan := float32(math.NaN())
	x := []float32{0, 1, nan, 2, 3, 4, 5, 6, 7}
	if s := expSubSum(x, 0); !math.IsNaN(s) || !math.IsNaN(float64(x[2])) {
		t.Fatalf("NaN input: sum %v, x[2] %v", s, x[2])
	}
	out := make([]float32, 9)
	geluForward(out, []float32{0, 1, nan, 2, 3, 4, 5, 6, 7})
	if !math.IsNaN(float64(out[2])) {
		t.Fatalf("gelu(NaN) = %v", out[2])
	}
}
