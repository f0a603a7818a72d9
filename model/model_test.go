package model

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func mustNew(t testing.TB, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := New(cfg, int64(seed))
	if err != nil {
		t.Fatal(err)
	}
	randomize(m, seed, 0.3)
	return m
}

// TestForwardMatchesReference compares Forward's logits with the float64
// reference model for every tiny config.
func TestForwardMatchesReference(t *testing.T) {
	for ci, tc := range tinyConfigs() {
		t.Run(tc.name, func(t *testing.T) {
			m := mustNew(t, tc.cfg, uint64(ci+1))
			rng := rand.New(rand.NewPCG(uint64(ci), 9))
			tokens := randTokens(rng, 3*7, tc.cfg.VocabSize)
			got, err := m.Forward(tokens, 3, 7, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := newRefModel(m).logits(tokens, 3, 7)
			if len(got) != len(want) {
				t.Fatalf("%d logits, want %d", len(got), len(want))
			}
			for i := range want {
				if math.Abs(float64(got[i])-want[i]) > 1e-4 {
					t.Fatalf("logit %d: %v, reference %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestRopeGQAAttentionMatchesScalar runs a Llama model with grouped-query
// attention, captures the pre-RoPE queries and keys, the values and the
// mixed output z of a layer through hooks, and checks z against a direct
// scalar implementation of RoPE and causal GQA attention in float64.
func TestRopeGQAAttentionMatchesScalar(t *testing.T) {
	const B, T = 2, 7
	cfg := LlamaConfig(13, 8, 2, 6, 2, 24, 16) // 3 query heads per kv head, hd 4
	m := mustNew(t, cfg, 4)
	rng := rand.New(rand.NewPCG(2, 2))
	tokens := randTokens(rng, B*T, cfg.VocabSize)
	captured := map[string][]float64{}
	h := NewHooks()
	for _, name := range []string{"attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_z", "attn.hook_attn_scores", "attn.hook_pattern"} {
		h.Add("blocks.1."+name, func(n string, act []float32, _ []int) {
			x := make([]float64, len(act))
			for i, v := range act {
				x[i] = float64(v)
			}
			captured[name] = x
		})
	}
	if _, err := m.Forward(tokens, B, T, h); err != nil {
		t.Fatal(err)
	}
	nH, nKV, hd := cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim()
	q := refRope(captured["attn.hook_q"], B, T, nH, hd, float64(cfg.RopeTheta))
	k := refRope(captured["attn.hook_k"], B, T, nKV, hd, float64(cfg.RopeTheta))
	z, pattern := refAttention(q, k, captured["attn.hook_v"], B, T, nH, nKV, hd)
	for i := range z {
		if d := math.Abs(z[i] - captured["attn.hook_z"][i]); d > 1e-5 {
			t.Fatalf("z[%d] = %v, scalar attention %v", i, captured["attn.hook_z"][i], z[i])
		}
	}
	for i := range pattern {
		if d := math.Abs(pattern[i] - captured["attn.hook_pattern"][i]); d > 1e-6 {
			t.Fatalf("pattern[%d] = %v, scalar attention %v", i, captured["attn.hook_pattern"][i], pattern[i])
		}
	}
	// The scores hook sees q·k/√hd after RoPE, the future keys at -Inf.
	scores := captured["attn.hook_attn_scores"]
	for b := 0; b < B; b++ {
		for h := 0; h < nH; h++ {
			g := h / (nH / nKV)
			for tq := 0; tq < T; tq++ {
				for tk := 0; tk < T; tk++ {
					got := scores[((b*nH+h)*T+tq)*T+tk]
					want := math.Inf(-1)
					if tk <= tq {
						want = 0
						for i := 0; i < hd; i++ {
							want += q[(b*T+tq)*nH*hd+h*hd+i] * k[(b*T+tk)*nKV*hd+g*hd+i]
						}
						want /= math.Sqrt(float64(hd))
					}
					if got != want && math.Abs(got-want) > 1e-5 {
						t.Fatalf("scores[%d,%d,%d,%d] = %v, scalar %v", b, h, tq, tk, got, want)
					}
				}
			}
		}
	}
}

// TestAttnScoresKnockout sets one causal entry of attn.hook_attn_scores to
// -Inf, as an attention-knockout experiment does, and checks that the
// pattern drops that key and renormalises the rest of its row, that the
// logits move, and that writing above the diagonal changes nothing.
func TestAttnScoresKnockout(t *testing.T) {
	const B, T = 2, 6
	const bq, hq, tq, tk = 1, 1, 4, 2 // the (sequence, head, query, key) knocked out
	for ci, tc := range tinyConfigs()[:3] {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			m := mustNew(t, cfg, uint64(ci+21))
			tokens := randTokens(rand.New(rand.NewPCG(21, uint64(ci))), B*T, cfg.VocabSize)
			nH := cfg.NumHeads
			row := func(pat []float32) []float32 {
				off := ((bq*nH+hq)*T + tq) * T
				return slices.Clone(pat[off : off+T])
			}
			run := func(edit func(scores []float32)) (logits, pat []float32) {
				h := NewHooks()
				if edit != nil {
					h.Add("blocks.0.attn.hook_attn_scores", func(_ string, act []float32, _ []int) { edit(act) })
				}
				h.Add("blocks.0.attn.hook_pattern", func(_ string, act []float32, _ []int) { pat = row(act) })
				got, err := m.Forward(tokens, B, T, h)
				if err != nil {
					t.Fatal(err)
				}
				return slices.Clone(got), pat
			}
			base, p0 := run(nil)
			at := ((bq*nH+hq)*T+tq)*T + tk
			knocked, p1 := run(func(s []float32) { s[at] = float32(math.Inf(-1)) })
			if p1[tk] != 0 {
				t.Fatalf("knocked-out key keeps weight %v", p1[tk])
			}
			for j := 0; j <= tq; j++ {
				if j == tk {
					continue
				}
				want := p0[j] / (1 - p0[tk])
				if math.Abs(float64(p1[j]-want)) > 1e-6 {
					t.Fatalf("pattern[%d] after knockout = %v, renormalised %v", j, p1[j], want)
				}
			}
			if slices.Equal(knocked, base) {
				t.Fatal("knocking a key out left the logits unchanged")
			}
			future, _ := run(func(s []float32) { s[at-tk+tq+1] = 100 })
			if !slices.Equal(future, base) {
				t.Fatal("a score above the diagonal changed the logits")
			}
			same, _ := run(func(s []float32) {})
			if !slices.Equal(same, base) {
				t.Fatal("listening to the scores changed the logits")
			}
		})
	}
}

// TestSequenceLogProbs checks the sum of log-softmax at the masked target
// positions against Forward's logits, and that BackwardSequenceLogProbs
// gives the gradient WeightedLoss gives for the same weighting.
func TestSequenceLogProbs(t *testing.T) {
	const B, T = 3, 6
	for ci, tc := range tinyConfigs()[:3] {
		t.Run(tc.name, func(t *testing.T) {
			m := mustNew(t, tc.cfg, uint64(ci+3))
			V := tc.cfg.VocabSize
			rng := rand.New(rand.NewPCG(uint64(ci), 5))
			tokens := randTokens(rng, B*T, V)
			mask := make([]float32, B*T)
			for i := range mask {
				mask[i] = float32(rng.IntN(2))
			}
			mask[2*T+1], mask[2*T+3] = 0.5, 2 // "!= 0" counts, not the value
			for _, mk := range [][]float32{nil, mask} {
				got, err := m.SequenceLogProbs(tokens, mk, B, T)
				if err != nil {
					t.Fatal(err)
				}
				logits, err := m.Forward(tokens, B, T, nil)
				if err != nil {
					t.Fatal(err)
				}
				for b := 0; b < B; b++ {
					want := 0.0
					for s := 1; s < T; s++ {
						if mk != nil && mk[b*T+s] == 0 {
							continue
						}
						row := logits[(b*T+s-1)*V : (b*T+s)*V]
						want += float64(row[tokens[b*T+s]]) - lse64(row)
					}
					if math.Abs(float64(got[b])-want) > 1e-4 {
						t.Fatalf("sequence %d: log-prob %v, from Forward's logits %v", b, got[b], want)
					}
				}
			}
			// Gradient: Σ coef_b·logp_b = −Σ_i coef_b·[mask_(i+1) != 0]·CE_i.
			coef := []float32{0.7, -1.3, 2}
			if _, err := m.SequenceLogProbs(tokens, mask, B, T); err != nil {
				t.Fatal(err)
			}
			if err := m.BackwardSequenceLogProbs(coef); err != nil {
				t.Fatal(err)
			}
			got := append([]float32(nil), m.Grads.Data...)
			m.ZeroGrad()
			targets := make([]int32, B*T)
			weights := make([]float32, B*T)
			for b := 0; b < B; b++ {
				for s := 0; s+1 < T; s++ {
					targets[b*T+s] = tokens[b*T+s+1]
					if mask[b*T+s+1] != 0 {
						weights[b*T+s] = -coef[b]
					}
				}
			}
			if _, err := m.WeightedLoss(tokens, targets, weights, B, T); err != nil {
				t.Fatal(err)
			}
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			for i, g := range m.Grads.Data {
				if math.Abs(float64(g-got[i])) > 1e-6 {
					t.Fatalf("gradient %d: %v via BackwardSequenceLogProbs, %v via WeightedLoss", i, got[i], g)
				}
			}
		})
	}
}

func lse64(x []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}

// TestMaskedPositionsContributeNothing changes the target at a masked
// position and the weight scale, and expects identical loss and gradients.
func TestMaskedPositionsContributeNothing(t *testing.T) {
	m := mustNew(t, tinyConfigs()[0].cfg, 6)
	rng := rand.New(rand.NewPCG(6, 6))
	tokens, targets := randTokens(rng, 10, 11), randTokens(rng, 10, 11)
	mask := []float32{1, 1, 0, 1, 1, 0, 1, 1, 1, 1}
	run := func(targets []int32, mask []float32) (float32, []float32) {
		m.ZeroGrad()
		l, err := m.Loss(tokens, targets, mask, 2, 5)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
		return l, append([]float32(nil), m.Grads.Data...)
	}
	l1, g1 := run(targets, mask)
	other := slices.Clone(targets)
	other[2], other[5] = (targets[2]+1)%11, -100
	l2, g2 := run(other, mask)
	if l1 != l2 || !slices.Equal(g1, g2) {
		t.Fatalf("changing masked targets changed the loss (%v vs %v) or gradients", l1, l2)
	}
	l3, _ := run(targets, nil)
	if l3 == l1 {
		t.Fatalf("the mask made no difference")
	}
}

// TestHooks checks that every documented hook name fires, in HookNames
// order, with the documented shape; that replacing an activation with
// itself changes nothing, bitwise; and that zeroing one changes the logits.
func TestHooks(t *testing.T) {
	const B, T = 2, 5
	for ci, tc := range tinyConfigs()[:3] {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			m := mustNew(t, cfg, uint64(ci+7))
			rng := rand.New(rand.NewPCG(7, uint64(ci)))
			tokens := randTokens(rng, B*T, cfg.VocabSize)
			base, err := m.Forward(tokens, B, T, nil)
			if err != nil {
				t.Fatal(err)
			}
			base = slices.Clone(base)

			C, H, nH, nKV, hd := cfg.Dim, cfg.HiddenDim, cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim()
			wantShape := func(name string) []int {
				switch {
				case strings.HasSuffix(name, "hook_q"), strings.HasSuffix(name, "hook_rot_q"), strings.HasSuffix(name, "hook_z"):
					return []int{B, T, nH, hd}
				case strings.HasSuffix(name, "hook_k"), strings.HasSuffix(name, "hook_rot_k"), strings.HasSuffix(name, "hook_v"):
					return []int{B, T, nKV, hd}
				case IsAttentionMap(name):
					return []int{B, nH, T, T}
				case strings.Contains(name, "mlp.hook_"):
					return []int{B, T, H}
				}
				return []int{B, T, C}
			}
			var fired []string
			h := NewHooks()
			h.Add("*", func(name string, act []float32, shape []int) {
				fired = append(fired, name)
				if !slices.Equal(shape, wantShape(name)) {
					t.Errorf("%s: shape %v, want %v", name, shape, wantShape(name))
				}
				if len(act) != prod(shape) {
					t.Errorf("%s: %d values for shape %v", name, len(act), shape)
				}
				copy(act, slices.Clone(act)) // replace with itself
			})
			got, err := m.Forward(tokens, B, T, h)
			if err != nil {
				t.Fatal(err)
			}
			if want := HookNames(cfg); !slices.Equal(fired, want) {
				t.Fatalf("fired %v\nwant  %v", fired, want)
			}
			if !slices.Equal(got, base) {
				t.Fatal("replacing every activation with itself changed the logits")
			}

			for _, name := range []string{"blocks.0.hook_mlp_out", "blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern", "hook_embed", "blocks.1.attn.hook_q"} {
				h := NewHooks()
				h.Add(name, func(_ string, act []float32, _ []int) { clear(act) })
				got, err := m.Forward(tokens, B, T, h)
				if err != nil {
					t.Fatal(err)
				}
				if slices.Equal(got, base) {
					t.Errorf("zeroing %s left the logits unchanged", name)
				}
			}

			bad := NewHooks()
			bad.Add("blocks.9.hook_resid_pre", func(string, []float32, []int) {})
			if _, err := m.Forward(tokens, B, T, bad); err == nil || !strings.Contains(err.Error(), "HookNames") {
				t.Fatalf("unknown hook name: error %v", err)
			}
		})
	}
}

// TestReadOnlyHooksKeepGradients checks that LossWithHooks with reading
// hooks gives the same loss and gradients as Loss.
func TestReadOnlyHooksKeepGradients(t *testing.T) {
	m := mustNew(t, tinyConfigs()[2].cfg, 8)
	rng := rand.New(rand.NewPCG(8, 8))
	tokens, targets := randTokens(rng, 10, 11), randTokens(rng, 10, 11)
	l1, _ := m.Loss(tokens, targets, nil, 2, 5)
	_ = m.Backward()
	g1 := slices.Clone(m.Grads.Data)
	m.ZeroGrad()
	sum := 0.0
	h := NewHooks()
	h.Add("*", func(_ string, act []float32, _ []int) {
		for _, v := range act {
			sum += float64(v)
		}
	})
	l2, err := m.LossWithHooks(tokens, targets, nil, 2, 5, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(); err != nil {
		t.Fatal(err)
	}
	if l1 != l2 || !slices.Equal(g1, m.Grads.Data) || sum == 0 {
		t.Fatalf("reading hooks changed the loss (%v vs %v) or gradients", l1, l2)
	}
}

func TestBadConfigs(t *testing.T) {
	good := GPT2Config(11, 8, 2, 2, 8)
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"heads do not divide width", func(c *Config) { c.NumHeads, c.NumKVHeads = 3, 3 }, "dim 8 is not divisible by num_heads 3"},
		{"zero vocab", func(c *Config) { c.VocabSize = 0 }, "vocab_size must be positive"},
		{"zero layers", func(c *Config) { c.NumLayers = 0 }, "num_layers must be positive"},
		{"zero width", func(c *Config) { c.Dim = 0 }, "dim must be positive"},
		{"kv heads do not divide heads", func(c *Config) { *c = LlamaConfig(11, 8, 2, 4, 3, 8, 12) }, "num_heads 4 is not divisible by num_kv_heads 3"},
		{"odd llama head dim", func(c *Config) { *c = LlamaConfig(11, 8, 2, 2, 2, 6, 12) }, "even head dim"},
		{"unknown family", func(c *Config) { c.Family = "bert" }, `family "bert"`},
		// Sizes whose products would wrap an int (then allocate nothing and
		// index out of range in Forward) or exceed any memory.
		{"huge vocab", func(c *Config) { c.VocabSize = 1 << 59 }, "vocab_size 576460752303423488 is over the limit"},
		{"huge context", func(c *Config) { *c = LlamaConfig(11, 1<<62, 2, 2, 2, 8, 12) }, "max_seq_len 4611686018427387904 is over the limit"},
		{"too many parameters", func(c *Config) { c.VocabSize, c.Dim, c.HiddenDim = 1<<24, 1<<16, 4 }, "parameters, over the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			_, err := New(cfg, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBadInputs(t *testing.T) {
	m := mustNew(t, GPT2Config(11, 8, 1, 2, 8), 1)
	tok := []int32{1, 2, 3, 4}
	allZero := []float32{0, 0, 0, 0}
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"token out of range", func() error { _, err := m.Forward([]int32{1, 11, 3, 4}, 1, 4, nil); return err }, "token id 11 at index 1 is outside the vocabulary"},
		{"negative token", func() error { _, err := m.Forward([]int32{-1, 1, 3, 4}, 2, 2, nil); return err }, "token id -1"},
		{"T beyond max_seq_len", func() error { _, err := m.Forward(make([]int32, 9), 1, 9, nil); return err }, "exceeds max_seq_len 8"},
		{"length mismatch", func() error { _, err := m.Forward(tok, 2, 3, nil); return err }, "got 4 tokens, want B·T"},
		{"zero batch", func() error { _, err := m.Forward(nil, 0, 3, nil); return err }, "must be positive"},
		{"all-zero mask", func() error { _, err := m.Loss(tok, tok, allZero, 1, 4); return err }, "mask is all zeros"},
		{"negative mask", func() error { _, err := m.Loss(tok, tok, []float32{1, -1, 1, 1}, 1, 4); return err }, "negative"},
		{"NaN mask", func() error { _, err := m.Loss(tok, tok, []float32{1, float32(math.NaN()), 1, 1}, 1, 4); return err }, "not finite"},
		{"target out of range", func() error { _, err := m.Loss(tok, []int32{1, 2, 30, 4}, nil, 1, 4); return err }, "target id 30 at index 2"},
		{"targets length", func() error { _, err := m.Loss(tok, tok[:3], nil, 1, 4); return err }, "got 3 targets"},
		{"mask length", func() error { _, err := m.SequenceLogProbs(tok, allZero[:3], 1, 4); return err }, "got 3 mask values"},
		{"coef length", func() error {
			if _, err := m.SequenceLogProbs(tok, nil, 2, 2); err != nil {
				return err
			}
			return m.BackwardSequenceLogProbs([]float32{1})
		}, "want one per sequence"},
		{"backward without loss", func() error {
			if _, err := m.Forward(tok, 1, 4, nil); err != nil {
				return err
			}
			return m.Backward()
		}, "Backward needs a Loss"},
		{"max new tokens that would overflow", func() error {
			_, err := m.Generate([][]int32{{1}}, GenerateConfig{MaxNewTokens: math.MaxInt})
			return err
		}, "exceed max_seq_len"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestShapeChanges runs several (B, T) in turn and expects each result to
// equal a fresh model's, so no state leaks between layouts.
func TestShapeChanges(t *testing.T) {
	cfg := tinyConfigs()[2].cfg
	m := mustNew(t, cfg, 9)
	rng := rand.New(rand.NewPCG(9, 9))
	for _, s := range [][2]int{{2, 5}, {1, 3}, {3, 8}, {2, 5}} {
		B, T := s[0], s[1]
		tokens, targets := randTokens(rng, B*T, 11), randTokens(rng, B*T, 11)
		fresh := mustNew(t, cfg, 9)
		l1, _ := m.Loss(tokens, targets, nil, B, T)
		l2, _ := fresh.Loss(tokens, targets, nil, B, T)
		if l1 != l2 {
			t.Fatalf("B=%d T=%d: loss %v after other shapes, %v fresh", B, T, l1, l2)
		}
	}
}

// TestTrainStepAllocatesNothing checks that, once warm, Loss + Backward +
// ZeroGrad and a hook-free Forward allocate nothing in this package's code.
// Allocations are attributed through the memory profile to the function
// that made them, so the kernels of other packages (tensor.Gemm's pool,
// tensor.Parallel's goroutines) are reported but do not fail the test.
func TestTrainStepAllocatesNothing(t *testing.T) {
	for _, tc := range tinyConfigs()[:3] {
		m := mustNew(t, tc.cfg, 10)
		rng := rand.New(rand.NewPCG(10, 10))
		tokens, targets := randTokens(rng, 10, 11), randTokens(rng, 10, 11)
		step := func() {
			m.ZeroGrad()
			if _, err := m.Loss(tokens, targets, nil, 2, 5); err != nil {
				t.Fatal(err)
			}
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
		}
		ours, all := allocsPerRun(step)
		t.Logf("%s: train step: %v allocations per step in package model, %v in all", tc.name, ours, all)
		if ours != 0 {
			t.Errorf("%s: a training step allocates %v times in package model", tc.name, ours)
		}
		ours, all = allocsPerRun(func() { _, _ = m.Forward(tokens, 2, 5, nil) })
		t.Logf("%s: Forward: %v allocations per call in package model, %v in all", tc.name, ours, all)
		if ours != 0 {
			t.Errorf("%s: Forward without hooks allocates %v times in package model", tc.name, ours)
		}
	}
}

// allocsPerRun runs f a few times warm and returns the allocations per run
// made directly by package model's (non-test) code, and by anything.
func allocsPerRun(f func()) (model, all float64) {
	const runs = 5
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	f()
	f()
	m0, a0 := profiledAllocs()
	for i := 0; i < runs; i++ {
		f()
	}
	m1, a1 := profiledAllocs()
	return float64(m1-m0) / runs, float64(a1-a0) / runs
}

// profiledAllocs sums the memory profile's allocation counts: those whose
// first frame outside the runtime is package model's non-test code, and all.
func profiledAllocs() (model, all int64) {
	runtime.GC() // the profile is published at the end of a GC cycle
	runtime.GC()
	recs := make([]runtime.MemProfileRecord, 1024)
	n, ok := runtime.MemProfile(recs, true)
	for !ok {
		recs = make([]runtime.MemProfileRecord, n+1024)
		n, ok = runtime.MemProfile(recs, true)
	}
	for _, r := range recs[:n] {
		all += r.AllocObjects
		frames := runtime.CallersFrames(r.Stack())
		for {
			fr, more := frames.Next()
			if !strings.HasPrefix(fr.Function, "runtime.") {
				if strings.HasPrefix(fr.Function, "github.com/alignlab/alignlab/model.") && !strings.HasSuffix(fr.File, "_test.go") {
					model += r.AllocObjects
				}
				break
			}
			if !more {
				break
			}
		}
	}
	return model, all
}

// TestLossTinyMaskWeights: the loss is Σmask·CE/Σmask, so scaling every
// weight by the same tiny factor changes nothing (1/Σmask overflowed
// float32 below about 3e-39 and gave +Inf).
func TestLossTinyMaskWeights(t *testing.T) {
	m := mustNew(t, GPT2Config(11, 8, 1, 2, 8), 1)
	tok := []int32{1, 2, 3, 4}
	ones, err := m.Loss(tok, tok, []float32{1, 1, 1, 1}, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	tiny, err := m.Loss(tok, tok, []float32{1e-45, 1e-45, 1e-45, 1e-45}, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(tiny-ones)) > 1e-5*math.Abs(float64(ones)) {
		t.Fatalf("loss with tiny weights %v, with ones %v", tiny, ones)
	}
}

// TestFromParamsLayout checks that FromParams refuses weights laid out for
// another config, even one with the same number of parameters.
func TestFromParamsLayout(t *testing.T) {
	a := LlamaConfig(32, 16, 1, 2, 2, 8, 16)
	a.TieEmbeddings = true
	b := a
	b.VocabSize, b.HiddenDim = 35, 15 // three more embedding rows, one fewer hidden unit: same size
	if NumParams(a) != NumParams(b) {
		t.Fatalf("test configs differ in size: %d and %d", NumParams(a), NumParams(b))
	}
	fresh := func() *Params {
		p, err := NewParams(a)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := FromParams(a, fresh()); err != nil {
		t.Fatalf("own layout refused: %v", err)
	}
	cases := map[string]func(p *Params) (Config, *Params){
		"another config":  func(p *Params) (Config, *Params) { return b, p },
		"missing layer":   func(p *Params) (Config, *Params) { p.Layers = p.Layers[:0]; return a, p },
		"moved view":      func(p *Params) (Config, *Params) { p.Layers[0].FCW = p.Layers[0].ProjW; return a, p },
		"untied head":     func(p *Params) (Config, *Params) { p.LMHead = make([]float32, len(p.TokEmb)); return a, p },
		"dropped tensors": func(p *Params) (Config, *Params) { p.Tensors = p.Tensors[:3]; return a, p },
	}
	for name, mutate := range cases {
		cfg, p := mutate(fresh())
		if _, err := FromParams(cfg, p); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
