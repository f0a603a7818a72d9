package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func genTestPrompts(rng *rand.Rand, vocab int, lens ...int) [][]int32 {
	p := make([][]int32, len(lens))
	for i, n := range lens {
		p[i] = genRandTokens(rng, n, vocab)
	}
	return p
}

// TestGenerateGreedyFollowsReference: greedy tokens are the argmax of the
// full recomputation at every step, and the log-probs are its log-softmax.
func TestGenerateGreedyFollowsReference(t *testing.T) {
	for name, cfg := range genTestConfigs() {
		t.Run(name, func(t *testing.T) {
			m := genTestModel(t, cfg, 8)
			prompts := genTestPrompts(rand.New(rand.NewPCG(1, 1)), cfg.VocabSize, 5, 1, 9)
			gens, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: 8})
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range gens {
				if len(g.Tokens) != 8 || len(g.LogProbs) != 8 || g.Stopped {
					t.Fatalf("prompt %d: %d tokens, %d log-probs, stopped %v; want 8, 8, false", i, len(g.Tokens), len(g.LogProbs), g.Stopped)
				}
				full := append(slices.Clone(prompts[i]), g.Tokens...)
				ref := refForward(m, full)
				for j, tok := range g.Tokens {
					logits := ref[len(prompts[i])-1+j]
					best := 0
					for v := range logits {
						if logits[v] > logits[best] {
							best = v
						}
					}
					if int(tok) != best {
						t.Fatalf("prompt %d step %d: token %d, want argmax %d", i, j, tok, best)
					}
					if lp := refLogSoftmax(logits, int(tok)); math.Abs(float64(g.LogProbs[j])-lp) > 1e-4*(1+math.Abs(lp)) {
						t.Fatalf("prompt %d step %d: log-prob %g, want %g", i, j, g.LogProbs[j], lp)
					}
					if g.SampleLogProbs[j] != 0 {
						t.Fatalf("greedy sample log-prob %g, want 0", g.SampleLogProbs[j])
					}
				}
			}
			again, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: 8})
			if err != nil {
				t.Fatal(err)
			}
			for i := range gens {
				if !slices.Equal(gens[i].Tokens, again[i].Tokens) {
					t.Fatalf("greedy is not deterministic for prompt %d", i)
				}
			}
		})
	}
}

func refLogSoftmax(logits []float64, i int) float64 {
	mx := slices.Max(logits)
	var z float64
	for _, l := range logits {
		z += math.Exp(l - mx)
	}
	return logits[i] - mx - math.Log(z)
}

// TestGenerateBatchEqualsSingle: each prompt generated alone with Seed+i
// gives what it gave as sequence i of a batch, while sampling with
// temperature, top-k and top-p.
func TestGenerateBatchEqualsSingle(t *testing.T) {
	for _, name := range []string{"gpt2", "llama-gqa"} {
		cfg := genTestConfigs()[name]
		t.Run(name, func(t *testing.T) {
			m := genTestModel(t, cfg, 3)
			prompts := genTestPrompts(rand.New(rand.NewPCG(2, 2)), cfg.VocabSize, 3, 11, 1, 6)
			gc := GenerateConfig{MaxNewTokens: 12, Temperature: 1.1, TopK: 20, TopP: 0.95, Seed: 42, StopTokens: []int32{7}}
			batch, err := m.Generate(prompts, gc)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range prompts {
				one := gc
				one.Seed = gc.Seed + int64(i)
				alone, err := m.Generate([][]int32{p}, one)
				if err != nil {
					t.Fatal(err)
				}
				a, b := alone[0], batch[i]
				if !slices.Equal(a.Tokens, b.Tokens) || a.Stopped != b.Stopped {
					t.Fatalf("prompt %d: alone %v (stopped %v), in batch %v (stopped %v)", i, a.Tokens, a.Stopped, b.Tokens, b.Stopped)
				}
				for j := range a.LogProbs {
					if math.Abs(float64(a.LogProbs[j]-b.LogProbs[j])) > 1e-4 {
						t.Fatalf("prompt %d step %d: log-prob %g alone, %g in batch", i, j, a.LogProbs[j], b.LogProbs[j])
					}
				}
			}
		})
	}
}

func TestGenerateSeeds(t *testing.T) {
	cfg := genTestConfigs()["llama-mha"]
	m := genTestModel(t, cfg, 5)
	prompts := genTestPrompts(rand.New(rand.NewPCG(3, 3)), cfg.VocabSize, 4, 4)
	gen := func(seed int64) []Generation {
		g, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: 16, Temperature: 1.5, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b, c := gen(1), gen(1), gen(2)
	for i := range a {
		if !slices.Equal(a[i].Tokens, b[i].Tokens) {
			t.Fatalf("seed 1 twice: %v then %v", a[i].Tokens, b[i].Tokens)
		}
	}
	if slices.Equal(a[0].Tokens, c[0].Tokens) && slices.Equal(a[1].Tokens, c[1].Tokens) {
		t.Fatal("seeds 1 and 2 gave the same generations")
	}
	// Same prompt twice in one batch: separate streams, so (almost surely)
	// different samples at temperature 1.5.
	same, err := m.Generate([][]int32{prompts[0], prompts[0]}, GenerateConfig{MaxNewTokens: 16, Temperature: 1.5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(same[0].Tokens, same[1].Tokens) {
		t.Fatal("two sequences of one batch drew the same samples")
	}
}

// TestGenerateLogProbsSumToSequenceLogProb: under sampling, the reported
// log-probs add up to the sequence's log-probability under the model,
// computed by full recomputation.
func TestGenerateLogProbsSumToSequenceLogProb(t *testing.T) {
	cfg := genTestConfigs()["llama-mqa-bias-t"]
	m := genTestModel(t, cfg, 6)
	prompts := genTestPrompts(rand.New(rand.NewPCG(4, 4)), cfg.VocabSize, 6, 2)
	gens, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: 10, Temperature: 0.9, TopK: 30, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range gens {
		full := append(slices.Clone(prompts[i]), g.Tokens...)
		ref := refForward(m, full)
		var want, got float64
		for j, tok := range g.Tokens {
			want += refLogSoftmax(ref[len(prompts[i])-1+j], int(tok))
			got += float64(g.LogProbs[j])
		}
		if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("prompt %d: log-probs sum to %g, sequence log-prob is %g", i, got, want)
		}
	}
}

func TestGenerateStopTokens(t *testing.T) {
	cfg := genTestConfigs()["gpt2"]
	m := genTestModel(t, cfg, 7)
	prompts := genTestPrompts(rand.New(rand.NewPCG(5, 5)), cfg.VocabSize, 3, 5)
	free, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	stop := free[0].Tokens[3]
	first := slices.Index(free[0].Tokens, stop)
	gens, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: 10, StopTokens: []int32{stop}})
	if err != nil {
		t.Fatal(err)
	}
	if g := gens[0]; !g.Stopped || !slices.Equal(g.Tokens, free[0].Tokens[:first+1]) || len(g.LogProbs) != first+1 {
		t.Fatalf("stopped %v with %v, want stop after %v", g.Stopped, g.Tokens, free[0].Tokens[:first+1])
	}
	// The other sequence stops at its own first stop token, or runs to the
	// limit, unaffected by the first one's stopping.
	want, stopped := free[1].Tokens, false
	if k := slices.Index(want, stop); k >= 0 {
		want, stopped = want[:k+1], true
	}
	if g := gens[1]; g.Stopped != stopped || !slices.Equal(g.Tokens, want) {
		t.Fatalf("second sequence %v (stopped %v), want %v (stopped %v)", g.Tokens, g.Stopped, want, stopped)
	}
}

func TestGenerateErrors(t *testing.T) {
	cfg := genTestConfigs()["gpt2"] // vocab 61, max_seq_len 40
	m := genTestModel(t, cfg, 1)
	ok := GenerateConfig{MaxNewTokens: 4}
	for _, tc := range []struct {
		name    string
		prompts [][]int32
		cfg     GenerateConfig
		want    string
	}{
		{"no prompts", nil, ok, "no prompts"},
		{"empty prompt", [][]int32{{1}, {}}, ok, "prompt 1 is empty"},
		{"token too big", [][]int32{{1, 61}}, ok, "out of range"},
		{"negative token", [][]int32{{-2}}, ok, "out of range"},
		{"too long", [][]int32{make([]int32, 37)}, ok, "exceed max_seq_len 40"},
		{"no new tokens", [][]int32{{1}}, GenerateConfig{}, "at least 1"},
		{"negative temperature", [][]int32{{1}}, GenerateConfig{MaxNewTokens: 1, Temperature: -1}, "temperature"},
		{"NaN temperature", [][]int32{{1}}, GenerateConfig{MaxNewTokens: 1, Temperature: float32(math.NaN())}, "temperature"},
		{"negative top-k", [][]int32{{1}}, GenerateConfig{MaxNewTokens: 1, TopK: -1}, "top-k"},
		{"top-p above 1", [][]int32{{1}}, GenerateConfig{MaxNewTokens: 1, TopP: 1.5}, "top-p"},
		{"bad stop token", [][]int32{{1}}, GenerateConfig{MaxNewTokens: 1, StopTokens: []int32{99}}, "stop token"},
	} {
		_, err := m.Generate(tc.prompts, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	// Exactly max_seq_len is fine.
	if _, err := m.Generate([][]int32{make([]int32, 36)}, ok); err != nil {
		t.Fatalf("prompt + new == max_seq_len: %v", err)
	}
}

// TestGenerateDegenerateSamplingIsGreedy: top-k 1, a tiny top-p and a tiny
// temperature all reproduce greedy decoding through the whole generation.
func TestGenerateDegenerateSamplingIsGreedy(t *testing.T) {
	cfg := genTestConfigs()["llama-gqa"]
	m := genTestModel(t, cfg, 21)
	prompts := genTestPrompts(rand.New(rand.NewPCG(6, 6)), cfg.VocabSize, 4, 7, 2)
	greedy, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	for _, gc := range []GenerateConfig{
		{MaxNewTokens: 12, Temperature: 1, TopK: 1, Seed: 5},
		{MaxNewTokens: 12, Temperature: 1, TopP: 1e-6, Seed: 5},
		{MaxNewTokens: 12, Temperature: 1e-5, Seed: 5},
	} {
		gens, err := m.Generate(prompts, gc)
		if err != nil {
			t.Fatal(err)
		}
		for i := range gens {
			if !slices.Equal(gens[i].Tokens, greedy[i].Tokens) {
				t.Fatalf("%+v prompt %d: %v, greedy gives %v", gc, i, gens[i].Tokens, greedy[i].Tokens)
			}
		}
	}
}
