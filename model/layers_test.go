package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// layerCase is one layer's forward and backward under test: ours runs the
// engine's float32 functions and returns the output and the gradients of
// Σ dout·out; ref is the float64 reference forward.
type layerCase struct {
	name   string
	inputs []inSpec
	ref    func(in map[string][]float64) []float64
	ours   func(in map[string][]float32, dout []float32) (out []float32, grads map[string][]float32)
}

type inSpec struct {
	name string
	n    int
	mean float64 // e.g. 1 for norm weights
}

// TestLayerBackward checks each layer kind on its own: forward against the
// float64 reference, and backward against central differences of the
// reference's Σ dout·out, for every input coordinate.
func TestLayerBackward(t *testing.T) {
	const rows, in, out = 3, 4, 5
	const B, T, C = 2, 3, 4
	tokens := []int32{2, 0, 2, 1, 3, 0}
	cases := []layerCase{
		{
			name:   "linear",
			inputs: []inSpec{{"x", rows * in, 0}, {"w", out * in, 0}, {"b", out, 0}},
			ref: func(v map[string][]float64) []float64 {
				return refLinear(v["x"], rows, in, v["w"], v["b"], out)
			},
			ours: func(v map[string][]float32, dout []float32) ([]float32, map[string][]float32) {
				y := make([]float32, rows*out)
				linearForward(y, v["x"], v["w"], v["b"], rows, in, out)
				g := grads(v)
				linearBackward(g["x"], g["w"], g["b"], dout, v["x"], v["w"], rows, in, out, false)
				return y, g
			},
		},
		{
			name:   "linear without bias, accumulating dinp",
			inputs: []inSpec{{"x", rows * in, 0}, {"w", out * in, 0}},
			ref: func(v map[string][]float64) []float64 {
				return refLinear(v["x"], rows, in, v["w"], nil, out)
			},
			ours: func(v map[string][]float32, dout []float32) ([]float32, map[string][]float32) {
				y := make([]float32, rows*out)
				linearForward(y, v["x"], v["w"], nil, rows, in, out)
				g := grads(v)
				// Accumulate onto half the gradient computed first: the sum
				// must be the full gradient.
				half := make([]float32, len(dout))
				for i := range dout {
					half[i] = dout[i] / 2
				}
				linearBackward(g["x"], g["w"], nil, half, v["x"], v["w"], rows, in, out, false)
				linearBackward(g["x"], g["w"], nil, half, v["x"], v["w"], rows, in, out, true)
				return y, g
			},
		},
		normCase("layernorm", false, rows, 6),
		normCase("rmsnorm", true, rows, 6),
		normCase("layernorm, many rows", false, 37, 5),
		{
			name:   "gelu",
			inputs: []inSpec{{"x", 50, 0}},
			ref:    func(v map[string][]float64) []float64 { return refGELU(v["x"]) },
			ours: func(v map[string][]float32, dout []float32) ([]float32, map[string][]float32) {
				y := make([]float32, 50)
				mlpActForward(y, v["x"], nil)
				g := grads(v)
				for i := range g["x"] { // backward must overwrite, not accumulate
					g["x"][i] = 7
				}
				mlpActBackward(g["x"], nil, dout, v["x"], nil)
				return y, g
			},
		},
		{
			name:   "swiglu",
			inputs: []inSpec{{"gate", 40, 0}, {"up", 40, 0}},
			ref:    func(v map[string][]float64) []float64 { return refSwiGLU(v["gate"], v["up"]) },
			ours: func(v map[string][]float32, dout []float32) ([]float32, map[string][]float32) {
				y := make([]float32, 40)
				mlpActForward(y, v["gate"], v["up"])
				g := grads(v)
				g["gate"][0], g["up"][3] = 7, 7 // backward must overwrite
				mlpActBackward(g["gate"], g["up"], dout, v["gate"], v["up"])
				return y, g
			},
		},
		{
			name:   "rope",
			inputs: []inSpec{{"x", 2 * 5 * 3 * 4, 0}},
			ref:    func(v map[string][]float64) []float64 { return refRope(v["x"], 2, 5, 3, 4, 10000) },
			ours: func(v map[string][]float32, dout []float32) ([]float32, map[string][]float32) {
				cos, sin := ropeTables(8, 4, 10000)
				y := append([]float32(nil), v["x"]...)
				ropeForward(y, cos, sin, 2, 5, 3, 4)
				g := map[string][]float32{"x": append([]float32(nil), dout...)}
				ropeBackward(g["x"], cos, sin, 2, 5, 3, 4)
				return y, g
			},
		},
		attentionCase("attention", 2, 4, 2, 2, 3),
		attentionCase("attention gqa", 2, 5, 4, 2, 2),
		attentionCase("attention mqa", 1, 6, 3, 1, 4),
		{
			name:   "embedding",
			inputs: []inSpec{{"wte", 4 * C, 0}, {"wpe", 5 * C, 0}},
			ref: func(v map[string][]float64) []float64 {
				y := make([]float64, B*T*C)
				for i, tok := range tokens {
					for c := 0; c < C; c++ {
						y[i*C+c] = v["wte"][int(tok)*C+c] + v["wpe"][(i%T)*C+c]
					}
				}
				return y
			},
			ours: func(v map[string][]float32, dout []float32) ([]float32, map[string][]float32) {
				y := make([]float32, B*T*C)
				embedTokens(y, tokens, v["wte"], C)
				addPositions(y, v["wpe"], B, T, C)
				g := grads(v)
				embedBackward(g["wte"], g["wpe"], dout, tokens, B, T, C)
				return y, g
			},
		},
		headCase("lm head + cross-entropy", 1<<20),
		headCase("lm head + cross-entropy, chunked", 2*7),
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkLayer(t, tc, uint64(ci)) })
	}
}

func grads(v map[string][]float32) map[string][]float32 {
	g := map[string][]float32{}
	for k, x := range v {
		g[k] = make([]float32, len(x))
	}
	return g
}

func normCase(name string, rms bool, rows, dim int) layerCase {
	ins := []inSpec{{"x", rows * dim, 0.5}, {"w", dim, 1}}
	if !rms {
		ins = append(ins, inSpec{"b", dim, 0})
	}
	return layerCase{
		name:   name,
		inputs: ins,
		ref: func(v map[string][]float64) []float64 {
			if rms {
				return refRMSNorm(v["x"], rows, dim, v["w"], 1e-5)
			}
			return refLayerNorm(v["x"], rows, dim, v["w"], v["b"], 1e-5)
		},
		ours: func(v map[string][]float32, dout []float32) ([]float32, map[string][]float32) {
			var k normKernel
			k.bind()
			y := make([]float32, rows*dim)
			mean, rstd := make([]float32, rows), make([]float32, rows)
			k.forward(rms, y, mean, rstd, v["x"], v["w"], v["b"], rows, dim, 1e-5)
			g := grads(v)
			partials := make([]float32, 3*2*dim) // fewer parts than threads is fine
			k.backward(rms, g["x"], g["w"], g["b"], dout, v["x"], v["w"], mean, rstd, partials, rows, dim)
			return y, g
		},
	}
}

func attentionCase(name string, B, T, nH, nKV, hd int) layerCase {
	return layerCase{
		name:   name,
		inputs: []inSpec{{"q", B * T * nH * hd, 0}, {"k", B * T * nKV * hd, 0}, {"v", B * T * nKV * hd, 0}},
		ref: func(v map[string][]float64) []float64 {
			z, _ := refAttention(v["q"], v["k"], v["v"], B, T, nH, nKV, hd)
			return z
		},
		ours: func(v map[string][]float32, dout []float32) ([]float32, map[string][]float32) {
			var a attnKernel
			a.bind()
			z, att := make([]float32, B*T*nH*hd), make([]float32, B*nH*T*T)
			a.forward(z, att, v["q"], v["k"], v["v"], B, T, nH, nKV, hd, nil, nil)
			g := grads(v)
			for _, x := range g { // backward must overwrite, not accumulate
				for i := range x {
					x[i] = 1e3
				}
			}
			a.backward(g["q"], g["k"], g["v"], make([]float32, len(att)), dout, v["q"], v["k"], v["v"], att, B, T, nH, nKV, hd)
			return z, g
		},
	}
}

// headCase checks the fused head: the output is the weighted CE sum (one
// number), the inputs ln_final's output and the head weight.
func headCase(name string, chunkFloats int) layerCase {
	const B, T, C, V = 2, 3, 4, 7
	targets := []int32{1, 6, 0, 3, 3, 5}
	weights := []float32{0.5, 0, 1, 2, 0.25, 1}
	return layerCase{
		name:   name,
		inputs: []inSpec{{"x", B * T * C, 0}, {"w", V * C, 0}},
		ref: func(v map[string][]float64) []float64 {
			w := make([]float64, len(weights))
			for i, x := range weights {
				w[i] = float64(x)
			}
			return []float64{refCE(refLinear(v["x"], B*T, C, v["w"], nil, V), B*T, V, targets, w)}
		},
		ours: func(v map[string][]float32, dout []float32) ([]float32, map[string][]float32) {
			old := maxHeadFloats
			maxHeadFloats = chunkFloats
			defer func() { maxHeadFloats = old }()
			cfg := LlamaConfig(V, T, 1, 2, 2, C, 4)
			m, _ := New(cfg, 1)
			m.Grads, _ = NewParams(cfg)
			copy(m.Params.LMHead, v["w"])
			w := m.ensure(B, T)
			copy(w.lnf, v["x"])
			copy(w.targets, targets)
			for i, x := range weights {
				w.rowW[i] = x * dout[0]
			}
			m.headForward(w)
			var loss float64
			for i, l := range w.rowLoss {
				loss += float64(weights[i]) * float64(l)
			}
			m.headBackward(w)
			return []float32{float32(loss)}, map[string][]float32{"x": w.dln, "w": m.Grads.LMHead}
		},
	}
}

func checkLayer(t *testing.T, tc layerCase, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	in64, in32 := map[string][]float64{}, map[string][]float32{}
	for _, s := range tc.inputs {
		x32, x64 := make([]float32, s.n), make([]float64, s.n)
		for i := range x32 {
			x32[i] = float32(s.mean + rng.NormFloat64())
			x64[i] = float64(x32[i])
		}
		in32[s.name], in64[s.name] = x32, x64
	}
	want := tc.ref(in64)
	dout := make([]float32, len(want))
	for i := range dout {
		dout[i] = float32(rng.NormFloat64())
	}
	got, g := tc.ours(in32, dout)
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-5*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("output %d: %v, reference %v", i, got[i], want[i])
		}
	}
	objective := func() float64 {
		y := tc.ref(in64)
		s := 0.0
		for i := range y {
			s += float64(dout[i]) * y[i]
		}
		return s
	}
	for _, s := range tc.inputs {
		x := in64[s.name]
		var diff, norm float64
		for i := range x {
			const h = 1e-6
			orig := x[i]
			x[i] = orig + h
			lp := objective()
			x[i] = orig - h
			lm := objective()
			x[i] = orig
			fd := (lp - lm) / (2 * h)
			d := float64(g[s.name][i]) - fd
			diff += d * d
			norm += fd * fd
		}
		diff, norm = math.Sqrt(diff), math.Sqrt(norm)
		if diff > 1e-4*norm+1e-6 {
			t.Errorf("d%s: |grad − finite difference| = %.3g, |finite difference| = %.3g", s.name, diff, norm)
		}
	}
}
