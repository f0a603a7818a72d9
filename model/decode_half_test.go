package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHalfKVCacheNearReference runs the batched decode of
// TestBatchedDecodeMatchesReference on an fp16 cache: every sequence's
// logits must stay near its full recomputation (within 4e-3 of the
// logits' scale: these models have sharp attention, and the fp16 rounding
// of keys and values moves them by up to 1e-3, against 1e-4 allowed a
// float32 cache), and must differ from the float32 cache's (the halves
// are really used).
func TestHalfKVCacheNearReference(t *testing.T) {
	for name, cfg := range genTestConfigs() {
		t.Run(name, func(t *testing.T) {
			m := genTestModel(t, cfg, 4)
			rng := rand.New(rand.NewPCG(5, 6))
			V := cfg.VocabSize
			lens := []int{7, 1, 12}
			seqs := make([][]int32, len(lens))
			prompts := make([][]int32, len(lens))
			for i, n := range lens {
				seqs[i] = genRandTokens(rng, n+6, V)
				prompts[i] = seqs[i][:n]
			}
			half, full := m.NewHalfKVCache(len(lens), 20), m.NewKVCache(len(lens), 20)
			if !half.Half() || full.Half() {
				t.Fatal("Half() does not say which cache is fp16")
			}
			want := make([][][]float64, len(seqs))
			for i := range seqs {
				want[i] = refForward(m, seqs[i])
			}
			var worstRel, diffFull float64
			check := func(got, got32 []float32, ref []float64) {
				scale, worst := 1.0, 0.0
				for j, w := range ref {
					scale = math.Max(scale, math.Abs(w))
					worst = math.Max(worst, math.Abs(float64(got[j])-w))
					diffFull = math.Max(diffFull, math.Abs(float64(got[j]-got32[j])))
				}
				worstRel = math.Max(worstRel, worst/scale)
			}
			lh, err := m.Prefill(half, prompts)
			if err != nil {
				t.Fatal(err)
			}
			lf, err := m.Prefill(full, prompts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range seqs {
				check(lh[i*V:(i+1)*V], lf[i*V:(i+1)*V], want[i][lens[i]-1])
			}
			for step := 0; step < 6; step++ {
				feed := make([]int32, len(seqs))
				for i := range seqs {
					feed[i] = seqs[i][lens[i]+step]
				}
				lh, err := m.DecodeStep(half, feed)
				if err != nil {
					t.Fatal(err)
				}
				lf, err := m.DecodeStep(full, feed)
				if err != nil {
					t.Fatal(err)
				}
				for i := range seqs {
					check(lh[i*V:(i+1)*V], lf[i*V:(i+1)*V], want[i][lens[i]+step])
				}
			}
			t.Logf("worst |diff| / scale %.3g", worstRel)
			if worstRel > 4e-3 {
				t.Fatalf("fp16 cache: max |diff| is %.3g of the logits' scale, want <= 4e-3", worstRel)
			}
			if diffFull == 0 {
				t.Fatal("fp16 cache gives the float32 cache's logits exactly: keys and values not rounded")
			}
		})
	}
}

// TestGenerateHalfKV checks that GenerateConfig.HalfKV reaches the cache:
// greedy generation on an fp16 cache gives valid tokens and log-probs
// close to the float32 cache's for the same tokens.
func TestGenerateHalfKV(t *testing.T) {
	cfg := LlamaConfig(61, 40, 2, 4, 2, 32, 40)
	m := genTestModel(t, cfg, 3)
	prompts := [][]int32{{1, 2, 3}, {4}}
	gc := GenerateConfig{MaxNewTokens: 8, Seed: 1}
	full, err := m.Generate(prompts, gc)
	if err != nil {
		t.Fatal(err)
	}
	gc.HalfKV = true
	half, err := m.Generate(prompts, gc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range prompts {
		if len(half[i].Tokens) != 8 {
			t.Fatalf("prompt %d: %d tokens, want 8", i, len(half[i].Tokens))
		}
		for j, tok := range half[i].Tokens {
			if tok != full[i].Tokens[j] {
				break // the sequences part; later positions are not comparable
			}
			if d := math.Abs(float64(half[i].LogProbs[j] - full[i].LogProbs[j])); d > 0.05 {
				t.Fatalf("prompt %d token %d: log-prob %v with fp16 cache, %v with float32", i, j, half[i].LogProbs[j], full[i].LogProbs[j])
			}
		}
	}
}
