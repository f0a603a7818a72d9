package tensor

import (
	"math"
	"math/rand"
	"testing"
)

// layerNorm64 is the float64 reference forward for one row.
func layerNorm64(x, w, b []float64, eps float64) []float64 {
	var m, v float64
	for _, xi := range x {
		m += xi
	}
	m /= float64(len(x))
	for _, xi := range x {
		v += (xi - m) * (xi - m)
	}
	v /= float64(len(x))
	s := 1 / math.Sqrt(v+eps)
	out := make([]float64, len(x))
	for i, xi := range x {
		out[i] = (xi-m)*s*w[i] + b[i]
	}
	return out
}

func rmsNorm64(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, xi := range x {
		ss += xi * xi
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, xi := range x {
		out[i] = xi * s * w[i]
	}
	return out
}

func to64(s []float32) []float64 {
	r := make([]float64, len(s))
	for i, v := range s {
		r[i] = float64(v)
	}
	return r
}

// numGrad returns dL/dv[i] for L = Σ g·f() by central differences in
// float64, perturbing v in place.
func numGrad(v []float64, g []float64, f func() []float64) []float64 {
	grad := make([]float64, len(v))
	loss := func() float64 {
		var l float64
		for i, o := range f() {
			l += g[i] * o
		}
		return l
	}
	for i := range v {
		old := v[i]
		h := 1e-6 * math.Max(1, math.Abs(old))
		v[i] = old + h
		lp := loss()
		v[i] = old - h
		lm := loss()
		v[i] = old
		grad[i] = (lp - lm) / (2 * h)
	}
	return grad
}

func assertClose(t *testing.T, what string, got []float32, base []float32, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		w := want[i]
		if base != nil {
			w += float64(base[i])
		}
		if math.Abs(float64(got[i])-w) > tol*(math.Abs(w)+1) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], w)
		}
	}
}

func TestLayerNorm(t *testing.T) {
	for _, threads := range []int{1, 3} {
		withThreads(threads, func() { testLayerNorm(t) })
	}
}

func TestRMSNorm(t *testing.T) {
	for _, threads := range []int{1, 3} {
		withThreads(threads, func() { testRMSNorm(t) })
	}
}

func testLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, tc := range []struct {
		rows, dim int
		bias      bool
	}{{1, 1, true}, {3, 7, true}, {2, 64, false}, {4, 33, true}} {
		n := tc.rows * tc.dim
		inp := make([]float32, n)
		for i := range inp {
			inp[i] = 3*float32(rng.NormFloat64()) + 1
		}
		w, b := randSlice(rng, tc.dim), randSlice(rng, tc.dim)
		var bias []float32
		if tc.bias {
			bias = b
		} else {
			b = make([]float32, tc.dim)
		}
		out := make([]float32, n)
		mean, rstd := make([]float32, tc.rows), make([]float32, tc.rows)
		const eps = 1e-5
		LayerNormForward(out, mean, rstd, inp, w, bias, tc.rows, tc.dim, eps)

		dout := randSlice(rng, n)
		dinp, dw, db := randSlice(rng, n), randSlice(rng, tc.dim), randSlice(rng, tc.dim)
		dinp0, dw0, db0 := append([]float32(nil), dinp...), append([]float32(nil), dw...), append([]float32(nil), db...)
		var dbias []float32
		if tc.bias {
			dbias = db
		}
		LayerNormBackward(dinp, dw, dbias, dout, inp, w, mean, rstd, tc.rows, tc.dim)

		x64, w64, b64, g64 := to64(inp), to64(w), to64(b), to64(dout)
		fwd := func() []float64 {
			var o []float64
			for r := 0; r < tc.rows; r++ {
				o = append(o, layerNorm64(x64[r*tc.dim:(r+1)*tc.dim], w64, b64, eps)...)
			}
			return o
		}
		assertClose(t, "out", out, nil, fwd(), 2e-5)
		if tc.dim > 1 { // with dim 1 the output is constant and x's gradient ~0
			assertClose(t, "dinp", dinp, dinp0, numGrad(x64, g64, fwd), 1e-4)
		}
		assertClose(t, "dweight", dw, dw0, numGrad(w64, g64, fwd), 1e-4)
		if tc.bias {
			assertClose(t, "dbias", db, db0, numGrad(b64, g64, fwd), 1e-4)
		}
	}
}

func testRMSNorm(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	for _, tc := range []struct{ rows, dim int }{{1, 1}, {3, 7}, {2, 64}, {4, 33}} {
		n := tc.rows * tc.dim
		inp := make([]float32, n)
		for i := range inp {
			inp[i] = 3 * float32(rng.NormFloat64())
		}
		w := randSlice(rng, tc.dim)
		out, rstd := make([]float32, n), make([]float32, tc.rows)
		const eps = 1e-6
		RMSNormForward(out, rstd, inp, w, tc.rows, tc.dim, eps)
		dout := randSlice(rng, n)
		dinp, dw := randSlice(rng, n), randSlice(rng, tc.dim)
		dinp0, dw0 := append([]float32(nil), dinp...), append([]float32(nil), dw...)
		RMSNormBackward(dinp, dw, dout, inp, w, rstd, tc.rows, tc.dim)

		x64, w64, g64 := to64(inp), to64(w), to64(dout)
		fwd := func() []float64 {
			var o []float64
			for r := 0; r < tc.rows; r++ {
				o = append(o, rmsNorm64(x64[r*tc.dim:(r+1)*tc.dim], w64, eps)...)
			}
			return o
		}
		assertClose(t, "out", out, nil, fwd(), 2e-5)
		assertClose(t, "dinp", dinp, dinp0, numGrad(x64, g64, fwd), 1e-4)
		assertClose(t, "dweight", dw, dw0, numGrad(w64, g64, fwd), 1e-4)
	}
}

func TestNormNilStats(t *testing.T) {
	// mean and rstd may be nil at inference.
	inp := []float32{1, 2, 3, 4}
	w := []float32{1, 1}
	out := make([]float32, 4)
	LayerNormForward(out, nil, nil, inp, w, nil, 2, 2, 1e-5)
	RMSNormForward(out, nil, inp, w, 2, 2, 1e-6)
}
