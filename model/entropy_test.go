package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/tensor"
)

// refEntropy is −Σ p·log p of softmax(x) in float64.
func refEntropy(x []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - mx)
	}
	var h float64
	for _, v := range x {
		if p := math.Exp(v-mx) / s; p > 0 {
			h -= p * math.Log(p)
		}
	}
	return h
}

// closeEntropy is the tolerance of the entropy checks: 1e-4 relative, with
// a floor for entropies near 0, where float32 probabilities round anyway.
func closeEntropy(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 1e-4*want+2e-6
}

// TestLseEntropy checks lseEntropy row by row: the entropy against the
// float64 reference, the logsumexp and the probabilities that Softmax then
// makes of the shifted row bit for bit against the unshifted path, on
// peaked, flat, offset and ragged rows longer than one scratch chunk.
func TestLseEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	row := func(n int, f func(i int) float64) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(f(i))
		}
		return x
	}
	negInf := math.Inf(-1)
	for _, tc := range []struct {
		name string
		x    []float32
	}{
		{"flat", row(1037, func(int) float64 { return 2.5 })},
		{"normal", row(1037, func(int) float64 { return rng.NormFloat64() })},
		{"normal-offset", row(777, func(int) float64 { return 300 + 3*rng.NormFloat64() })},
		{"peaked", row(1500, func(i int) float64 {
			if i == 901 {
				return 9
			}
			return rng.NormFloat64() * 0.1
		})},
		{"one-hot", row(600, func(i int) float64 {
			if i == 599 {
				return 40
			}
			return 0
		})},
		{"short", row(5, func(i int) float64 { return float64(i) })},
		{"neg-inf", row(513, func(i int) float64 {
			if i%3 == 0 {
				return negInf
			}
			return float64(i % 7)
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x64 := make([]float64, len(tc.x))
			for i, v := range tc.x {
				x64[i] = float64(v)
			}
			want := refEntropy(x64)
			plain := append([]float32(nil), tc.x...)
			wantLSE := tensor.LogSumExp(plain)
			tensor.Softmax(plain)
			x := append([]float32(nil), tc.x...)
			lse, h := lseEntropy(x, new([entropyChunk]float32))
			tensor.Softmax(x)
			if h != h {
				if tc.name != "neg-inf" {
					t.Fatalf("entropy NaN")
				}
				h = probsEntropy(x)
			}
			if lse != wantLSE {
				t.Errorf("logsumexp %v, tensor.LogSumExp %v", lse, wantLSE)
			}
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(plain[i]) {
					t.Fatalf("p[%d] = %v after the shift, %v without", i, x[i], plain[i])
				}
			}
			if !closeEntropy(h, want) {
				t.Errorf("entropy %v, reference %v", h, want)
			}
		})
	}
}

// TestTokenLogProbsEntropy checks TokenLogProbs' entropies against −Σ p·log p
// of the float64 reference model's softmax, for both families, with and
// without a mask, with the head scaled so rows are peaked (entropy near 0),
// ordinary, or flat (near log V); and that asking for entropies changes
// neither the log-probs nor the probabilities held for the backward.
func TestTokenLogProbsEntropy(t *testing.T) {
	const B, T, V = 2, 6, 1100 // V spans chunks of the exp scratch, ragged
	mask := []float32{0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1}
	for _, fam := range []struct {
		name string
		cfg  Config
	}{
		{"gpt2", GPT2Config(V, 8, 1, 2, 8)},
		{"llama", LlamaConfig(V, 8, 1, 2, 1, 8, 12)},
	} {
		for _, sc := range []struct {
			name  string
			scale float32
		}{{"peaked", 25}, {"ordinary", 1}, {"flat", 1e-3}} {
			for _, mk := range [][]float32{nil, mask} {
				name := fam.name + "-" + sc.name
				if mk != nil {
					name += "-mask"
				}
				t.Run(name, func(t *testing.T) {
					m, err := New(fam.cfg, 2)
					if err != nil {
						t.Fatal(err)
					}
					randomize(m, 17, 0.4)
					for i := range m.Params.LMHead {
						m.Params.LMHead[i] *= sc.scale
					}
					rng := rand.New(rand.NewPCG(5, 6))
					tokens := randTokens(rng, B*T, V)
					lp0, err := m.TokenLogProbs(tokens, mk, B, T, nil)
					if err != nil {
						t.Fatal(err)
					}
					probs0 := append([]float32(nil), m.acts.logits[:B*T*V]...)
					ent := make([]float32, B*T)
					for i := range ent {
						ent[i] = -1 // must be overwritten or cleared
					}
					lp, err := m.TokenLogProbs(tokens, mk, B, T, ent)
					if err != nil {
						t.Fatal(err)
					}
					for i := range lp {
						if math.Float32bits(lp[i]) != math.Float32bits(lp0[i]) {
							t.Fatalf("logp[%d] = %v with entropies, %v without", i, lp[i], lp0[i])
						}
					}
					for i, p := range m.acts.logits[:B*T*V] {
						if math.Float32bits(p) != math.Float32bits(probs0[i]) {
							t.Fatalf("held probability %d = %v with entropies, %v without", i, p, probs0[i])
						}
					}
					lg := newRefModel(m).logits(tokens, B, T)
					lo, hi := math.Inf(1), math.Inf(-1)
					for i := range ent {
						if i%T == 0 || (mk != nil && mk[i] == 0) {
							if ent[i] != 0 {
								t.Fatalf("entropy[%d] = %v at a position without a target", i, ent[i])
							}
							continue
						}
						want := refEntropy(lg[(i-1)*V : i*V])
						lo, hi = min(lo, want), max(hi, want)
						if !closeEntropy(ent[i], want) {
							t.Fatalf("entropy[%d] = %v, reference %v", i, ent[i], want)
						}
					}
					t.Logf("entropies %.3g..%.6g (log V = %.6g)", lo, hi, math.Log(V))
					// The scales must reach the regimes they are named for.
					switch sc.name {
					case "peaked":
						if lo > 0.05 {
							t.Errorf("peaked rows: smallest entropy %.3g, want near 0", lo)
						}
					case "flat":
						if lo < math.Log(V)-1e-3 {
							t.Errorf("flat rows: entropies %.6g..%.6g, want near log V = %.6g", lo, hi, math.Log(V))
						}
					}
				})
			}
		}
	}
}
