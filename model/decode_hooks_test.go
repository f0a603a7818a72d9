package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// These tests hold the hook points of the KV-cache path (KVCache.SetHooks,
// GenerateConfig.Hooks) to Forward's: same names, same values per position,
// each position seen once, and a hook that edits an activation steers
// generation exactly as it steers a full recomputation.

// hookKey is one activation row: hook name, sequence, position.
type hookKey struct {
	name     string
	seq, pos int
}

// recordHooks returns hooks on every point (pattern aside) that store each
// row they see under its sequence and position, failing on a row seen
// twice, together with the per-row width of each name.
func recordHooks(t *testing.T) (*Hooks, map[hookKey][]float32, map[string][]int) {
	h := NewHooks()
	rows := map[hookKey][]float32{}
	dims := map[string][]int{}
	h.Add("*", func(name string, act []float32, shape []int) {
		if IsAttentionMap(name) {
			return
		}
		dims[name] = slices.Clone(shape[2:])
		k, T := shape[0], shape[1]
		w := len(act) / (k * T)
		for b := 0; b < k; b++ {
			for tt := 0; tt < T; tt++ {
				key := hookKey{name, h.Sequence(b), h.Position(b, tt)}
				if _, dup := rows[key]; dup {
					t.Errorf("%s: sequence %d position %d seen twice", name, key.seq, key.pos)
				}
				rows[key] = slices.Clone(act[(b*T+tt)*w : (b*T+tt+1)*w])
			}
		}
	})
	return h, rows, dims
}

// TestDecodeHooksMatchForward prefills prompts of different lengths in
// small chunks, decodes a few tokens (retiring one sequence), and checks
// every hooked row against Forward's hooks on each whole sequence.
func TestDecodeHooksMatchForward(t *testing.T) {
	for name, cfg := range genTestConfigs() {
		t.Run(name, func(t *testing.T) {
			m := genTestModel(t, cfg, 21)
			rng := rand.New(rand.NewPCG(4, 9))
			lens, steps := []int{7, 1, 12, 7}, 5
			seqs := make([][]int32, len(lens))
			prompts := make([][]int32, len(lens))
			for i, n := range lens {
				seqs[i] = genRandTokens(rng, n+steps, cfg.VocabSize)
				prompts[i] = seqs[i][:n]
			}
			cache := m.NewKVCache(len(lens), 20)
			if err := cache.SetChunkRows(8); err != nil {
				t.Fatal(err)
			}
			h, got, dims := recordHooks(t)
			cache.SetHooks(h)
			if _, err := m.Prefill(cache, prompts); err != nil {
				t.Fatal(err)
			}
			fed := slices.Clone(lens)
			for s := 0; s < steps; s++ {
				if s == 2 {
					cache.SetActive(1, false)
				}
				var toks []int32
				for i := range seqs {
					if cache.Active(i) {
						toks = append(toks, seqs[i][fed[i]])
						fed[i]++
					}
				}
				if _, err := m.DecodeStep(cache, toks); err != nil {
					t.Fatal(err)
				}
			}

			want := map[hookKey][]float32{}
			wantDims := map[string][]int{}
			for i := range seqs {
				fh := NewHooks()
				fh.Add("*", func(name string, act []float32, shape []int) {
					if IsAttentionMap(name) {
						return
					}
					wantDims[name] = slices.Clone(shape[2:])
					w := len(act) / shape[1]
					for p := 0; p < fed[i]; p++ {
						want[hookKey{name, i, p}] = slices.Clone(act[p*w : (p+1)*w])
					}
				})
				if _, err := m.Forward(seqs[i][:fed[i]], 1, fed[i], fh); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("decode hooked %d rows, Forward %d", len(got), len(want))
			}
			for key, w := range want {
				g, ok := got[key]
				if !ok {
					t.Fatalf("%s sequence %d position %d: never hooked during decode", key.name, key.seq, key.pos)
				}
				closeF32(t, fmt.Sprintf("%s seq %d pos %d", key.name, key.seq, key.pos), g, w)
			}
			for n, d := range wantDims {
				if !slices.Equal(dims[n], d) {
					t.Fatalf("%s: trailing dims %v during decode, Forward has %v", n, dims[n], d)
				}
			}
		})
	}
}

// TestDecodeHookShapes pins the documented grouping: equal prompts prefill
// as one [B, T, Dim] activation, a decode step as [active, 1, Dim] in
// sequence order, and different prompt lengths fire apart.
func TestDecodeHookShapes(t *testing.T) {
	cfg := genTestConfigs()["llama-gqa"]
	m := genTestModel(t, cfg, 3)
	type fired struct {
		shape []int
		seqs  []int
	}
	var calls []fired
	h := NewHooks()
	h.Add("blocks.1.hook_resid_post", func(_ string, act []float32, shape []int) {
		f := fired{shape: slices.Clone(shape)}
		for b := 0; b < shape[0]; b++ {
			f.seqs = append(f.seqs, h.Sequence(b))
		}
		calls = append(calls, f)
		if len(act) != shape[0]*shape[1]*shape[2] {
			t.Errorf("act has %d floats for shape %v", len(act), shape)
		}
	})
	C := cfg.Dim
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name    string
		prompts []int
		active  []bool
		want    []fired
	}{
		{"equal prompts", []int{5, 5, 5}, []bool{true, false, true},
			[]fired{{[]int{3, 5, C}, []int{0, 1, 2}}, {[]int{2, 1, C}, []int{0, 2}}}},
		{"uneven prompts", []int{4, 4, 2}, []bool{true, true, true},
			[]fired{{[]int{2, 4, C}, []int{0, 1}}, {[]int{1, 2, C}, []int{2}}, {[]int{3, 1, C}, []int{0, 1, 2}}}},
	}
	for _, tc := range cases {
		calls = nil
		cache := m.NewKVCache(len(tc.prompts), 8)
		cache.SetHooks(h)
		if _, err := m.Prefill(cache, genTestPrompts(rng, cfg.VocabSize, tc.prompts...)); err != nil {
			t.Fatal(err)
		}
		var toks []int32
		for i, a := range tc.active {
			cache.SetActive(i, a)
			if a {
				toks = append(toks, 1)
			}
		}
		if _, err := m.DecodeStep(cache, toks); err != nil {
			t.Fatal(err)
		}
		if len(calls) != len(tc.want) {
			t.Fatalf("%s: %d calls %v, want %v", tc.name, len(calls), calls, tc.want)
		}
		for i, w := range tc.want {
			if !slices.Equal(calls[i].shape, w.shape) || !slices.Equal(calls[i].seqs, w.seqs) {
				t.Fatalf("%s call %d: shape %v sequences %v, want %v %v", tc.name, i, calls[i].shape, calls[i].seqs, w.shape, w.seqs)
			}
		}
	}
}

// addVector returns hooks that add v to every row at name, and also scale
// column j by 1 + v[j]/4 (adding the same vector to every key would leave
// attention unchanged).
func addVector(name string, v []float32) *Hooks {
	h := NewHooks()
	h.Add(name, func(_ string, act []float32, _ []int) {
		for i := range act {
			act[i] = act[i]*(1+v[i%len(v)]/4) + v[i%len(v)]
		}
	})
	return h
}

// TestGenerateSteeringMatchesForward: greedy generation with a hook that
// edits an activation (addVector) picks, at every step, the argmax of a full Forward over
// the sequence so far with the same hook, with its log-softmax as the
// log-prob; and the vector does change the output. Hooks on the keys and
// values check that the cache stores what the hook left.
func TestGenerateSteeringMatchesForward(t *testing.T) {
	for _, tc := range []struct {
		cfg, hook string
		width     func(Config) int
	}{
		{"gpt2", "blocks.0.hook_resid_post", func(c Config) int { return c.Dim }},
		{"llama-gqa", "blocks.1.hook_resid_post", func(c Config) int { return c.Dim }},
		{"llama-mqa-bias-t", "blocks.0.hook_resid_post", func(c Config) int { return c.Dim }},
		{"gpt2", "blocks.0.attn.hook_v", func(c Config) int { return c.NumKVHeads * c.HeadDim() }},
		{"llama-gqa", "blocks.0.attn.hook_rot_k", func(c Config) int { return c.NumKVHeads * c.HeadDim() }},
		{"llama-gqa", "blocks.1.mlp.hook_post", func(c Config) int { return c.HiddenDim }},
	} {
		cfg := genTestConfigs()[tc.cfg]
		t.Run(tc.cfg+"/"+tc.hook, func(t *testing.T) {
			m := genTestModel(t, cfg, 31)
			rng := rand.New(rand.NewPCG(3, 3))
			v := make([]float32, tc.width(cfg))
			for i := range v {
				v[i] = float32(rng.NormFloat64() * 3)
			}
			prompts := genTestPrompts(rng, cfg.VocabSize, 6, 1, 9)
			const N = 8
			plain, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: N})
			if err != nil {
				t.Fatal(err)
			}
			gens, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: N, Hooks: addVector(tc.hook, v)})
			if err != nil {
				t.Fatal(err)
			}
			changed := false
			V := cfg.VocabSize
			for i, g := range gens {
				changed = changed || !slices.Equal(g.Tokens, plain[i].Tokens)
				full := append(slices.Clone(prompts[i]), g.Tokens...)
				logits, err := m.Forward(full, 1, len(full), addVector(tc.hook, v))
				if err != nil {
					t.Fatal(err)
				}
				for j, tok := range g.Tokens {
					row := logits[(len(prompts[i])-1+j)*V : (len(prompts[i])+j)*V]
					r64 := make([]float64, V)
					for k, x := range row {
						r64[k] = float64(x)
					}
					if best := int32(slices.Index(row, slices.Max(row))); tok != best {
						t.Fatalf("prompt %d step %d: steered token %d, hooked Forward's argmax %d", i, j, tok, best)
					}
					if lp := refLogSoftmax(r64, int(tok)); math.Abs(float64(g.LogProbs[j])-lp) > 1e-4*(1+math.Abs(lp)) {
						t.Fatalf("prompt %d step %d: log-prob %g, hooked Forward %g", i, j, g.LogProbs[j], lp)
					}
				}
			}
			if !changed {
				t.Fatal("steering changed no token: the test cannot tell hooks from no hooks")
			}
		})
	}
}

// TestGenerateReadOnlyHooks: hooks that only read leave generation as it
// was: bit for bit when they avoid hook_attn_out and hook_mlp_out (whose
// hooking unfuses an addition), to float tolerance with "*".
func TestGenerateReadOnlyHooks(t *testing.T) {
	for _, name := range []string{"gpt2", "llama-gqa"} {
		cfg := genTestConfigs()[name]
		t.Run(name, func(t *testing.T) {
			m := genTestModel(t, cfg, 5)
			prompts := genTestPrompts(rand.New(rand.NewPCG(6, 6)), cfg.VocabSize, 4, 7, 4)
			gc := GenerateConfig{MaxNewTokens: 10, Temperature: 1, TopK: 20, Seed: 9}
			want, err := m.Generate(prompts, gc)
			if err != nil {
				t.Fatal(err)
			}
			sum := 0.0
			read := func(_ string, act []float32, _ []int) {
				for _, x := range act {
					sum += float64(x)
				}
			}
			exact := NewHooks()
			for _, n := range []string{"hook_embed", "blocks.0.hook_resid_pre", "blocks.1.ln1.hook_normalized", "blocks.0.attn.hook_k",
				"blocks.1.attn.hook_z", "blocks.0.hook_resid_mid", "blocks.1.mlp.hook_post", "blocks.1.hook_resid_post", "ln_final.hook_normalized"} {
				exact.Add(n, read)
			}
			all := NewHooks()
			all.Add("*", read)
			for _, tc := range []struct {
				name  string
				h     *Hooks
				exact bool
			}{{"listed", exact, true}, {"*", all, false}} {
				gc.Hooks = tc.h
				got, err := m.Generate(prompts, gc)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if !slices.Equal(got[i].Tokens, want[i].Tokens) {
						t.Fatalf("%s: prompt %d tokens %v, without hooks %v", tc.name, i, got[i].Tokens, want[i].Tokens)
					}
					if tc.exact && !slices.Equal(got[i].LogProbs, want[i].LogProbs) {
						t.Fatalf("%s: prompt %d log-probs %v, without hooks %v", tc.name, i, got[i].LogProbs, want[i].LogProbs)
					}
					closeF32(t, tc.name+" log-probs", got[i].LogProbs, want[i].LogProbs)
				}
			}
			if sum == 0 {
				t.Fatal("hooks read nothing")
			}
		})
	}
}

// TestGenerateHooksSeeEveryPositionOnce counts, per hook and prompt, the
// positions seen across prefill and decode: each fed position exactly once
// (all but the last sampled token).
func TestGenerateHooksSeeEveryPositionOnce(t *testing.T) {
	cfg := genTestConfigs()["gpt2"]
	m := genTestModel(t, cfg, 2)
	prompts := genTestPrompts(rand.New(rand.NewPCG(2, 2)), cfg.VocabSize, 3, 8, 1)
	names := []string{"hook_embed", "hook_pos_embed", "blocks.1.hook_mlp_out", "ln_final.hook_normalized"}
	seen := map[hookKey]int{}
	h := NewHooks()
	for _, n := range names {
		h.Add(n, func(name string, _ []float32, shape []int) {
			for b := 0; b < shape[0]; b++ {
				for tt := 0; tt < shape[1]; tt++ {
					seen[hookKey{name, h.Sequence(b), h.Position(b, tt)}]++
				}
			}
		})
	}
	stop := int32(7)
	gens, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: 6, Temperature: 1, Seed: 4, StopTokens: []int32{stop}, Hooks: h})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for i, g := range gens {
		fed := len(prompts[i]) + len(g.Tokens) - 1
		want += fed * len(names)
		for _, n := range names {
			for p := 0; p < fed; p++ {
				if c := seen[hookKey{n, i, p}]; c != 1 {
					t.Fatalf("%s prompt %d position %d seen %d times, want 1", n, i, p, c)
				}
			}
		}
	}
	if len(seen) != want {
		t.Fatalf("%d (hook, sequence, position) keys seen, want %d", len(seen), want)
	}
}

func TestDecodeHookErrors(t *testing.T) {
	cfg := genTestConfigs()["llama-gqa"]
	m := genTestModel(t, cfg, 1)
	for _, tc := range []struct{ hook, want string }{
		{"blocks.0.attn.hook_pattern", "not fired during KV-cache decoding"},
		{"blocks.1.attn.hook_attn_scores", "not fired during KV-cache decoding"},
		{"blocks.9.hook_resid_post", "names no hook point"},
		{"hook_pos_embed", "names no hook point"}, // Llama has no learned positions
	} {
		h := NewHooks()
		h.Add(tc.hook, func(string, []float32, []int) {})
		_, err := m.Generate([][]int32{{1, 2}}, GenerateConfig{MaxNewTokens: 2, Hooks: h})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("hook %s: error %v, want one containing %q", tc.hook, err, tc.want)
		}
	}
}

// BenchmarkGenerateHooked15M is BenchmarkGenerate15M with a steering hook
// (a vector added) at every layer's hook_resid_post, for the cost of hooks
// in the decode path; compare with BenchmarkGenerate15M (no hooks).
//
//	go test ./model/ -run '^$' -bench 'Generate(Hooked)?15M' -benchtime 1x
func BenchmarkGenerateHooked15M(b *testing.B) {
	cfg := stories15M()
	v := make([]float32, cfg.Dim)
	for i := range v {
		v[i] = 0.01
	}
	h := NewHooks()
	for l := 0; l < cfg.NumLayers; l++ {
		h.Add(fmt.Sprintf("blocks.%d.hook_resid_post", l), func(_ string, act []float32, _ []int) {
			for i := range act {
				act[i] += v[i%len(v)]
			}
		})
	}
	benchGenerateHooks(b, cfg, 1, 255, h)
}

// benchGenerateHooks is benchGenerate with hooks.
func benchGenerateHooks(b *testing.B, cfg Config, batch, newTokens int, h *Hooks) {
	m, err := New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	prompts := make([][]int32, batch)
	for i := range prompts {
		prompts[i] = []int32{1}
	}
	gc := GenerateConfig{MaxNewTokens: newTokens, Temperature: 1, Seed: 1, Hooks: h}
	tokens := 0
	b.ResetTimer()
	for b.Loop() {
		gens, err := m.Generate(prompts, gc)
		if err != nil {
			b.Fatal(err)
		}
		for _, g := range gens {
			tokens += len(g.Tokens)
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
}
