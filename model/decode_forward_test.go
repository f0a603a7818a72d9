package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// These tests hold the KV-cache path to the training forward (Model.Forward
// and SequenceLogProbs): the two are written separately and must agree.

func closeF32(t *testing.T, what string, got, want []float32) {
	t.Helper()
	w := make([]float64, len(want))
	for i, v := range want {
		w[i] = float64(v)
	}
	closeLogits(t, what, got, w)
}

func TestDecodeStepMatchesForward(t *testing.T) {
	for name, cfg := range genTestConfigs() {
		t.Run(name, func(t *testing.T) {
			m := genTestModel(t, cfg, 12)
			const B, T = 2, 17
			V := cfg.VocabSize
			toks := genRandTokens(rand.New(rand.NewPCG(7, 7)), B*T, V)
			full, err := m.Forward(toks, B, T, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(full)
			cache := m.NewKVCache(B, T)
			for pos := 0; pos < T; pos++ {
				logits, err := m.DecodeStep(cache, []int32{toks[pos], toks[T+pos]})
				if err != nil {
					t.Fatal(err)
				}
				for b := 0; b < B; b++ {
					closeF32(t, "decode vs Forward", logits[b*V:(b+1)*V], want[(b*T+pos)*V:(b*T+pos+1)*V])
				}
			}
			// And the chunked prefill over whole sequences.
			cache = m.NewKVCache(B, T)
			if err := cache.SetChunkRows(6); err != nil {
				t.Fatal(err)
			}
			all, err := m.Extend(cache, []int{0, 1}, [][]int32{toks[:T], toks[T:]}, true)
			if err != nil {
				t.Fatal(err)
			}
			closeF32(t, "extend vs Forward", all, want)
		})
	}
}

func TestGenerateLogProbsMatchSequenceLogProbs(t *testing.T) {
	for _, name := range []string{"gpt2", "llama-gqa"} {
		cfg := genTestConfigs()[name]
		t.Run(name, func(t *testing.T) {
			m := genTestModel(t, cfg, 13)
			prompt := genRandTokens(rand.New(rand.NewPCG(8, 8)), 5, cfg.VocabSize)
			gens, err := m.Generate([][]int32{prompt}, GenerateConfig{MaxNewTokens: 9, Temperature: 0.8, TopP: 0.9, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			g := gens[0]
			seq := append(slices.Clone(prompt), g.Tokens...)
			mask := make([]float32, len(seq))
			for i := len(prompt); i < len(seq); i++ {
				mask[i] = 1
			}
			lp, err := m.SequenceLogProbs(seq, mask, 1, len(seq))
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			for _, v := range g.LogProbs {
				sum += float64(v)
			}
			if math.Abs(sum-float64(lp[0])) > 1e-4*(1+math.Abs(sum)) {
				t.Fatalf("generation log-probs sum to %g, SequenceLogProbs gives %g", sum, lp[0])
			}
		})
	}
}
