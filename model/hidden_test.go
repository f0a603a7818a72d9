package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBackwardHiddenGradCheck checks BackwardHidden against central
// differences of the float64 reference model for L = Σ D·hidden with a
// random D. The reference exposes hidden states through its logits: with
// an untied head whose first Dim rows are the identity, logits[:, :Dim]
// are the hidden states themselves.
func TestBackwardHiddenGradCheck(t *testing.T) {
	const B, T = 2, 4
	for ci, tc := range tinyConfigs() {
		if tc.cfg.TieEmbeddings {
			continue // the identity head would also be the embedding
		}
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			C, V := cfg.Dim, cfg.VocabSize
			m, err := New(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			randomize(m, uint64(ci+11), 0.4)
			clear(m.Params.LMHead)
			for c := 0; c < C; c++ {
				m.Params.LMHead[c*C+c] = 1
			}
			rng := rand.New(rand.NewPCG(uint64(ci), 9))
			tokens := randTokens(rng, B*T, V)
			D := make([]float32, B*T*C)
			for i := range D {
				D[i] = float32(rng.NormFloat64())
			}
			hidden, err := m.ForwardHidden(tokens, B, T)
			if err != nil {
				t.Fatal(err)
			}
			ref := newRefModel(m)
			objective := func() float64 {
				lg := ref.logits(tokens, B, T)
				var s float64
				for i := 0; i < B*T; i++ {
					for c := 0; c < C; c++ {
						s += float64(D[i*C+c]) * lg[i*V+c]
					}
				}
				return s
			}
			lg := ref.logits(tokens, B, T)
			for i := 0; i < B*T; i++ {
				for c := 0; c < C; c++ {
					if d := math.Abs(float64(hidden[i*C+c]) - lg[i*V+c]); d > 1e-5 {
						t.Fatalf("hidden[%d,%d] = %g, reference %g", i, c, hidden[i*C+c], lg[i*V+c])
					}
				}
			}
			if err := m.BackwardHidden(D); err != nil {
				t.Fatal(err)
			}
			for _, pt := range m.Params.Tensors {
				grad := m.Grads.Tensors[indexOf(m.Params.Tensors, pt.Name)].Data
				if pt.Name == "lm_head.weight" {
					for i, g := range grad {
						if g != 0 {
							t.Fatalf("lm_head gradient %d is %g, want 0 (the head is not used)", i, g)
						}
					}
					continue
				}
				o := ref.off[pt.Name][0]
				var diff, norm float64
				for _, i := range sampleIndices(rng, len(pt.Data), 24) {
					const h = 1e-6
					p := ref.p[o+i]
					ref.p[o+i] = p + h
					lp := objective()
					ref.p[o+i] = p - h
					lm := objective()
					ref.p[o+i] = p
					fd := (lp - lm) / (2 * h)
					diff += (float64(grad[i]) - fd) * (float64(grad[i]) - fd)
					norm += fd * fd
				}
				diff, norm = math.Sqrt(diff), math.Sqrt(norm)
				if diff > 1e-3*norm+1e-6 {
					t.Errorf("%s: |grad − finite difference| = %.3g, |finite difference| = %.3g", pt.Name, diff, norm)
				}
			}
			if err := m.BackwardHidden(D); err == nil {
				t.Fatal("second BackwardHidden for one ForwardHidden succeeded, want an error")
			}
			if err := m.Backward(); err == nil {
				t.Fatal("Backward after ForwardHidden succeeded, want an error")
			}
		})
	}
}

// refTokenLogProb returns log p(target | row) from reference logits.
func refTokenLogProb(lg []float64, row, V int, target int32) float64 {
	x := lg[row*V : (row+1)*V]
	mx := x[0]
	for _, v := range x {
		mx = math.Max(mx, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - mx)
	}
	return x[target] - mx - math.Log(s)
}

// TestTokenLogProbs checks per-token log-probs and entropies against the
// float64 reference, their sums against SequenceLogProbs, and
// BackwardTokenLogProbs against central differences of Σ coef·logp, on
// the single-chunk and the chunked head.
func TestTokenLogProbs(t *testing.T) {
	const B, T = 2, 5
	mask := []float32{0, 1, 0, 1, 1, 0, 0, 1, 1, 1}
	for _, chunked := range []bool{false, true} {
		for ci, tc := range tinyConfigs()[:3] {
			name := tc.name
			if chunked {
				name += "-chunked"
			}
			t.Run(name, func(t *testing.T) {
				if chunked {
					old := maxHeadFloats
					maxHeadFloats = 3 * tc.cfg.VocabSize
					defer func() { maxHeadFloats = old }()
				}
				V := tc.cfg.VocabSize
				m, _ := New(tc.cfg, 2)
				randomize(m, uint64(ci+21), 0.4)
				rng := rand.New(rand.NewPCG(uint64(ci), 5))
				tokens := randTokens(rng, B*T, V)
				ent := make([]float32, B*T)
				lp, err := m.TokenLogProbs(tokens, mask, B, T, ent)
				if err != nil {
					t.Fatal(err)
				}
				ref := newRefModel(m)
				lg := ref.logits(tokens, B, T)
				coef := make([]float32, B*T)
				for i := range coef {
					coef[i] = float32(rng.NormFloat64())
				}
				objective := func() float64 {
					lg := ref.logits(tokens, B, T)
					var s float64
					for i := range mask {
						if mask[i] != 0 && i%T != 0 {
							s += float64(coef[i]) * refTokenLogProb(lg, i-1, V, tokens[i])
						}
					}
					return s
				}
				for i := range mask {
					var want, wantH float64
					if mask[i] != 0 && i%T != 0 {
						want = refTokenLogProb(lg, i-1, V, tokens[i])
						for v := 0; v < V; v++ {
							l := refTokenLogProb(lg, i-1, V, int32(v))
							wantH -= math.Exp(l) * l
						}
					}
					if math.Abs(float64(lp[i])-want) > 1e-5 || math.Abs(float64(ent[i])-wantH) > 1e-5 {
						t.Fatalf("position %d: logp %g entropy %g, reference %g and %g", i, lp[i], ent[i], want, wantH)
					}
				}
				// SequenceLogProbs is the per-sequence sum (it rearms the pass).
				seq, err := m.SequenceLogProbs(tokens, mask, B, T)
				if err != nil {
					t.Fatal(err)
				}
				for b := 0; b < B; b++ {
					var s float32
					for _, v := range lp[b*T : (b+1)*T] {
						s += v
					}
					if math.Abs(float64(s-seq[b])) > 1e-5 {
						t.Fatalf("sequence %d: token log-probs sum to %g, SequenceLogProbs %g", b, s, seq[b])
					}
				}
				if _, err := m.TokenLogProbs(tokens, mask, B, T, nil); err != nil {
					t.Fatal(err)
				}
				if err := m.BackwardTokenLogProbs(coef); err != nil {
					t.Fatal(err)
				}
				for _, pt := range m.Params.Tensors {
					grad := m.Grads.Tensors[indexOf(m.Params.Tensors, pt.Name)].Data
					o := ref.off[pt.Name][0]
					var diff, norm float64
					for _, i := range sampleIndices(rng, len(pt.Data), 16) {
						const h = 1e-6
						p := ref.p[o+i]
						ref.p[o+i] = p + h
						lp := objective()
						ref.p[o+i] = p - h
						lm := objective()
						ref.p[o+i] = p
						fd := (lp - lm) / (2 * h)
						diff += (float64(grad[i]) - fd) * (float64(grad[i]) - fd)
						norm += fd * fd
					}
					diff, norm = math.Sqrt(diff), math.Sqrt(norm)
					if diff > 1e-3*norm+1e-6 {
						t.Errorf("%s: |grad − finite difference| = %.3g, |finite difference| = %.3g", pt.Name, diff, norm)
					}
				}
				if err := m.BackwardTokenLogProbs(coef); err == nil {
					t.Fatal("second BackwardTokenLogProbs succeeded, want an error")
				}
			})
		}
	}
}

// TestHiddenInputErrors checks that bad sizes are errors, not panics.
func TestHiddenInputErrors(t *testing.T) {
	m, _ := New(tinyConfigs()[0].cfg, 1)
	if _, err := m.ForwardHidden([]int32{1, 2, 3}, 1, 4); err == nil {
		t.Error("ForwardHidden with 3 tokens for B·T = 4 succeeded")
	}
	if _, err := m.ForwardHidden([]int32{1, 2, 3, 4}, 1, 4); err != nil {
		t.Fatal(err)
	}
	if err := m.BackwardHidden(make([]float32, 5)); err == nil {
		t.Error("BackwardHidden with a short gradient succeeded")
	}
	bad := make([]float32, 4*m.Config.Dim)
	bad[3] = float32(math.NaN())
	if err := m.BackwardHidden(bad); err == nil {
		t.Error("BackwardHidden with a NaN succeeded")
	}
	if _, err := m.TokenLogProbs([]int32{1, 2, 3, 4}, []float32{1}, 1, 4, nil); err == nil {
		t.Error("TokenLogProbs with a short mask succeeded")
	}
	if _, err := m.TokenLogProbs([]int32{1, 2, 3, 4}, nil, 1, 4, make([]float32, 2)); err == nil {
		t.Error("TokenLogProbs with a short entropy buffer succeeded")
	}
}
