package tensor

import (
	"math"
	"math/rand"
	"testing"
)

// actLengths cross the 8-lane vector loops' tails and the threaded split.
var actLengths = []int{1, 7, 8, 9, 31, 100, 1 << 16}

func TestExpf(t *testing.T) {
	// Relative error against float64 over the whole finite range.
	worst := 0.0
	for x := -87.3; x < 88; x += 0.00731 {
		got := float64(expf(float32(x)))
		want := math.Exp(float64(float32(x)))
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 3e-7 {
		t.Errorf("expf worst relative error %.3g > 3e-7", worst)
	}
	special := []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(-1)), 0}, {-100, 0}, {-88, 0},
	}
	for _, s := range special {
		if got := expf(s.x); got != s.want {
			t.Errorf("expf(%g) = %g, want %g", s.x, got, s.want)
		}
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %g, want NaN", got)
	}
}

func TestExpSumKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	forEachKernel(t, func(kn *kernel) {
		for _, n := range []int{1, 5, 8, 13, 64, 1000} {
			src := make([]float32, n)
			for i := range src {
				src[i] = 170*rng.Float32() - 95 // through the flush-to-zero range
			}
			src[0] = float32(math.Inf(-1))
			dst := make([]float32, n)
			sum := kn.expSum(dst, src, 1.5)
			var want float64
			for i, v := range src {
				e := float64(expf(v - 1.5))
				want += e
				if d := math.Abs(float64(dst[i]) - e); d > 2e-7*e {
					t.Fatalf("%s n=%d: exp(%g-1.5) = %g, want %g", kn.name, n, v, dst[i], e)
				}
			}
			if math.Abs(float64(sum)-want) > 1e-6*want {
				t.Fatalf("%s n=%d: sum %g, want %g", kn.name, n, sum, want)
			}
			if got, want := kn.max(src), maxGeneric(src); got != want {
				t.Fatalf("%s n=%d: max %g, want %g", kn.name, n, got, want)
			}
			for _, at := range []int{0, n / 2, n - 1} {
				old := src[at]
				src[at] = float32(math.NaN())
				if got := kn.max(src); got == got {
					t.Fatalf("%s n=%d: max with NaN at %d = %g, want NaN", kn.name, n, at, got)
				}
				src[at] = old
			}
		}
	})
}

func TestSoftmaxAndLogSumExp(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	forEachKernel(t, func(kn *kernel) {
		for _, n := range []int{1, 2, 9, 100, 1000, 50257} {
			x := make([]float32, n)
			for i := range x {
				x[i] = 20 * float32(rng.NormFloat64())
			}
			if n > 2 {
				x[1] = float32(math.Inf(-1))
			}
			mx := math.Inf(-1)
			for _, v := range x {
				mx = math.Max(mx, float64(v))
			}
			var sum float64
			for _, v := range x {
				sum += math.Exp(float64(v) - mx)
			}
			lse := LogSumExp(x)
			if want := mx + math.Log(sum); math.Abs(float64(lse)-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Errorf("%s n=%d: LogSumExp %g, want %g", kn.name, n, lse, want)
			}
			p := append([]float32(nil), x...)
			Softmax(p)
			var total float64
			for i, v := range x {
				want := math.Exp(float64(v)-mx) / sum
				if math.Abs(float64(p[i])-want) > 1e-6*want+1e-12 {
					t.Fatalf("%s n=%d: p[%d] = %g, want %g", kn.name, n, i, p[i], want)
				}
				total += float64(p[i])
			}
			if math.Abs(total-1) > 1e-5 {
				t.Errorf("%s n=%d: probabilities sum to %g", kn.name, n, total)
			}
			if n > 2 && p[1] != 0 {
				t.Errorf("%s: -Inf logit got probability %g", kn.name, p[1])
			}
		}
	})
	if v := LogSumExp(nil); !math.IsInf(float64(v), -1) {
		t.Errorf("LogSumExp(nil) = %g, want -Inf", v)
	}
	Softmax(nil) // must not panic
}

// gelu64 is the float64 reference, in the tanh form GPT-2 defines.
func gelu64(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(geluC*(x+geluK*x*x*x)))
}

func silu64(x float64) float64 { return x / (1 + math.Exp(-x)) }

// deriv returns f'(x) by a central difference in float64.
func deriv(f func(float64) float64, x float64) float64 {
	h := 1e-5 * math.Max(1, math.Abs(x))
	return (f(x+h) - f(x-h)) / (2 * h)
}

func actInput(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 4 * float32(rng.NormFloat64())
	}
	x[0] = -30 // deep saturation both ways
	if n > 1 {
		x[1] = 30
	}
	return x
}

func TestGELU(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	forEachKernel(t, func(kn *kernel) {
		withThreads(3, func() {
			for _, n := range actLengths {
				x, dout := actInput(rng, n), randSlice(rng, n)
				out := make([]float32, n)
				GELUForward(out, x)
				dinp := randSlice(rng, n)
				d0 := append([]float32(nil), dinp...)
				GELUBackward(dinp, x, dout)
				for i, v := range x {
					xv := float64(v)
					if want := gelu64(xv); math.Abs(float64(out[i])-want) > 1e-6*(math.Abs(want)+1e-3) {
						t.Fatalf("%s n=%d: gelu(%g) = %g, want %g", kn.name, n, v, out[i], want)
					}
					want := float64(d0[i]) + deriv(gelu64, xv)*float64(dout[i])
					if math.Abs(float64(dinp[i])-want) > 2e-6*(math.Abs(want)+1) {
						t.Fatalf("%s n=%d: dinp at x=%g = %g, want %g", kn.name, n, v, dinp[i], want)
					}
				}
			}
		})
	})
}

func TestSwiGLU(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	forEachKernel(t, func(kn *kernel) {
		withThreads(3, func() {
			for _, n := range actLengths {
				g, up, dout := actInput(rng, n), randSlice(rng, n), randSlice(rng, n)
				out := make([]float32, n)
				SwiGLUForward(out, g, up)
				dg, du := randSlice(rng, n), randSlice(rng, n)
				dg0, du0 := append([]float32(nil), dg...), append([]float32(nil), du...)
				SwiGLUBackward(dg, du, dout, g, up)
				for i := range g {
					gv, uv, dv := float64(g[i]), float64(up[i]), float64(dout[i])
					if want := silu64(gv) * uv; math.Abs(float64(out[i])-want) > 1e-6*(math.Abs(want)+1e-3) {
						t.Fatalf("%s n=%d: swiglu(%g,%g) = %g, want %g", kn.name, n, gv, uv, out[i], want)
					}
					f := func(x float64) float64 { return silu64(x) * uv }
					if want := float64(dg0[i]) + deriv(f, gv)*dv; math.Abs(float64(dg[i])-want) > 2e-6*(math.Abs(want)+1) {
						t.Fatalf("%s n=%d: dgate at %g = %g, want %g", kn.name, n, gv, dg[i], want)
					}
					if want := float64(du0[i]) + silu64(gv)*dv; math.Abs(float64(du[i])-want) > 2e-6*(math.Abs(want)+1) {
						t.Fatalf("%s n=%d: dup at %g = %g, want %g", kn.name, n, gv, du[i], want)
					}
				}
			}
		})
	})
	if got, want := SiLU(2), float32(silu64(2)); math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("SiLU(2) = %g, want %g", got, want)
	}
}
