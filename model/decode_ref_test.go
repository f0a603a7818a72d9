package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The reference forward below recomputes the whole sequence in float64,
// written directly from ENGINE_API.md without sharing any code with the KV
// cache path, so a convention slip there (RoPE pairing, GQA head mapping,
// bias, norm) shows up as a logit mismatch.

// genTestConfigs covers both families and every attention layout.
func genTestConfigs() map[string]Config {
	gqaBiasTied := LlamaConfig(61, 40, 2, 4, 1, 32, 40)
	gqaBiasTied.Bias, gqaBiasTied.TieEmbeddings = true, true
	untiedGPT := GPT2Config(61, 40, 2, 4, 32)
	untiedGPT.TieEmbeddings = false
	return map[string]Config{
		"gpt2":             GPT2Config(61, 40, 2, 4, 32),
		"gpt2-untied":      untiedGPT,
		"llama-mha":        LlamaConfig(61, 40, 2, 4, 4, 32, 40),
		"llama-gqa":        LlamaConfig(61, 40, 3, 4, 2, 32, 40),
		"llama-mqa-bias-t": gqaBiasTied,
	}
}

// genTestModel returns a seeded model whose weights are scaled up from the
// GPT-2 init (std 0.02) so attention is sharp and every term of the forward
// moves the logits well above the comparison tolerance. Biases and norm
// weights get random values too, so they are exercised.
func genTestModel(t testing.TB, cfg Config, seed int64) *Model {
	t.Helper()
	m, err := New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	for _, ten := range m.Params.Tensors {
		if len(ten.Shape) == 1 {
			for i := range ten.Data {
				ten.Data[i] += float32(rng.NormFloat64() * 0.1)
			}
			continue
		}
		for i := range ten.Data {
			ten.Data[i] *= 8
		}
	}
	return m
}

func genRandTokens(rng *rand.Rand, n, vocab int) []int32 {
	t := make([]int32, n)
	for i := range t {
		t[i] = int32(rng.IntN(vocab))
	}
	return t
}

// refForward returns the logits after every position of toks.
func refForward(m *Model, toks []int32) [][]float64 {
	cfg, p := m.Config, m.Params
	C, hd, nH, nKV, H := cfg.Dim, cfg.HeadDim(), cfg.NumHeads, cfg.NumKVHeads, cfg.HiddenDim
	T := len(toks)
	x := make([][]float64, T)
	for t, tok := range toks {
		x[t] = make([]float64, C)
		for d := 0; d < C; d++ {
			x[t][d] = float64(p.TokEmb[int(tok)*C+d])
			if cfg.Family == GPT2 {
				x[t][d] += float64(p.PosEmb[t*C+d])
			}
		}
	}
	norm := func(v []float64, w, b []float32) []float64 {
		out := make([]float64, len(v))
		var mean, ms float64
		if cfg.Family == GPT2 {
			for _, e := range v {
				mean += e
			}
			mean /= float64(len(v))
		}
		for _, e := range v {
			ms += (e - mean) * (e - mean)
		}
		s := 1 / math.Sqrt(ms/float64(len(v))+float64(cfg.NormEps))
		for i, e := range v {
			out[i] = (e - mean) * s * float64(w[i])
			if b != nil {
				out[i] += float64(b[i])
			}
		}
		return out
	}
	matvec := func(w, b []float32, v []float64, rows int) []float64 {
		out := make([]float64, rows)
		for r := range out {
			var s float64
			for i, e := range v {
				s += float64(w[r*len(v)+i]) * e
			}
			if b != nil {
				s += float64(b[r])
			}
			out[r] = s
		}
		return out
	}
	rope := func(v []float64, pos int) {
		half := len(v) / 2
		for i := 0; i < half; i++ {
			ang := float64(pos) * math.Pow(float64(cfg.RopeTheta), -2*float64(i)/float64(len(v)))
			c, s := math.Cos(ang), math.Sin(ang)
			a, b := v[i], v[i+half]
			v[i], v[i+half] = a*c-b*s, b*c+a*s
		}
	}
	for l := range cfg.NumLayers {
		lp := p.Layers[l]
		q := make([][][]float64, T) // [t][head][hd]
		k := make([][][]float64, T)
		v := make([][][]float64, T)
		for t := range T {
			qkv := matvec(lp.QKVW, lp.QKVB, norm(x[t], lp.AttnNormW, lp.AttnNormB), cfg.QKVDim())
			for h := 0; h < nH; h++ {
				q[t] = append(q[t], qkv[h*hd:(h+1)*hd])
			}
			for h := 0; h < nKV; h++ {
				k[t] = append(k[t], qkv[(nH+h)*hd:(nH+h+1)*hd])
				v[t] = append(v[t], qkv[(nH+nKV+h)*hd:(nH+nKV+h+1)*hd])
			}
			if cfg.Family == Llama {
				for _, hv := range q[t] {
					rope(hv, t)
				}
				for _, hv := range k[t] {
					rope(hv, t)
				}
			}
		}
		for t := range T {
			att := make([]float64, 0, C)
			for h := 0; h < nH; h++ {
				g := h / (nH / nKV)
				sc := make([]float64, t+1)
				mx := math.Inf(-1)
				for u := 0; u <= t; u++ {
					for i := 0; i < hd; i++ {
						sc[u] += q[t][h][i] * k[u][g][i]
					}
					sc[u] /= math.Sqrt(float64(hd))
					mx = math.Max(mx, sc[u])
				}
				var z float64
				for u := range sc {
					sc[u] = math.Exp(sc[u] - mx)
					z += sc[u]
				}
				o := make([]float64, hd)
				for u := range sc {
					for i := range o {
						o[i] += sc[u] / z * v[u][g][i]
					}
				}
				att = append(att, o...)
			}
			ao := matvec(lp.AttnOutW, lp.AttnOutB, att, C)
			for d := range x[t] {
				x[t][d] += ao[d]
			}
			xn := norm(x[t], lp.MLPNormW, lp.MLPNormB)
			var hid []float64
			if cfg.Gated() {
				f := matvec(lp.FCW, lp.FCB, xn, 2*H)
				for i := 0; i < H; i++ {
					g := f[i]
					hid = append(hid, g/(1+math.Exp(-g))*f[H+i])
				}
			} else {
				f := matvec(lp.FCW, lp.FCB, xn, H)
				for _, e := range f {
					hid = append(hid, 0.5*e*(1+math.Tanh(math.Sqrt(2/math.Pi)*(e+0.044715*e*e*e))))
				}
			}
			po := matvec(lp.ProjW, lp.ProjB, hid, C)
			for d := range x[t] {
				x[t][d] += po[d]
			}
		}
	}
	logits := make([][]float64, T)
	for t := range T {
		logits[t] = matvec(p.LMHead, nil, norm(x[t], p.FinalNormW, p.FinalNormB), cfg.VocabSize)
	}
	return logits
}

// closeLogits fails unless got matches want to a relative 1e-4 of want's
// largest magnitude.
func closeLogits(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d logits, want %d", what, len(got), len(want))
	}
	scale, worst := 1.0, 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i])-want[i]))
	}
	if worst > 1e-4*scale {
		t.Fatalf("%s: max |diff| %.3g exceeds 1e-4 × %.3g", what, worst, scale)
	}
}
