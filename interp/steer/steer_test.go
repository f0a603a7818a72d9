package steer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/model"
)

func testConfigs() map[string]model.Config {
	return map[string]model.Config{
		"gpt2":  model.GPT2Config(50, 32, 2, 4, 32),
		"llama": model.LlamaConfig(50, 32, 2, 4, 2, 32, 48),
	}
}

// testModel is a seeded model with weights scaled up from the init so the
// logits are far from uniform.
func testModel(t *testing.T, cfg model.Config) *model.Model {
	t.Helper()
	m, err := model.New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, ten := range m.Params.Tensors {
		if len(ten.Shape) > 1 {
			for i := range ten.Data {
				ten.Data[i] *= 6
			}
		}
	}
	return m
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func randTokens(rng *rand.Rand, n, vocab int) []int32 {
	t := make([]int32, n)
	for i := range t {
		t[i] = int32(rng.IntN(vocab))
	}
	return t
}

func forward(t *testing.T, m *model.Model, toks []int32, h *model.Hooks) []float32 {
	t.Helper()
	lg, err := m.Forward(toks, 1, len(toks), h)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(lg)
}

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestZeroVectorChangesNothing: adding a zero vector (any scale) leaves
// Forward's logits and generated tokens and log-probs bit-identical.
func TestZeroVectorChangesNothing(t *testing.T) {
	for name, cfg := range testConfigs() {
		t.Run(name, func(t *testing.T) {
			m := testModel(t, cfg)
			rng := rand.New(rand.NewPCG(1, 1))
			toks := randTokens(rng, 9, cfg.VocabSize)
			want := forward(t, m, toks, nil)
			points := append(AtLayers([]int{0, 1}, "hook_resid_post"), "blocks.0.hook_attn_out", "blocks.1.mlp.hook_post", "hook_embed")
			h := model.NewHooks()
			for _, p := range points {
				w, err := Width(cfg, p)
				if err != nil {
					t.Fatal(err)
				}
				if err := Add(h, p, make([]float32, w), 7, nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := forward(t, m, toks, h); !bitsEqual(got, want) {
				t.Fatal("Forward logits changed under a zero steering vector")
			}

			prompts := [][]int32{toks[:4], toks[:7]}
			gc := model.GenerateConfig{MaxNewTokens: 8, Temperature: 1, Seed: 2}
			plain, err := m.Generate(prompts, gc)
			if err != nil {
				t.Fatal(err)
			}
			gc.Hooks, err = NewHooks(cfg, Spec{Direction: &interp.Direction{Hook: "blocks.0.hook_resid_post", Vector: make([]float32, cfg.Dim)},
				Hooks: AtLayers([]int{0, 1}, "hook_resid_post"), Scale: 3})
			if err != nil {
				t.Fatal(err)
			}
			steered, err := m.Generate(prompts, gc)
			if err != nil {
				t.Fatal(err)
			}
			for i := range plain {
				if !slices.Equal(plain[i].Tokens, steered[i].Tokens) || !bitsEqual(plain[i].LogProbs, steered[i].LogProbs) {
					t.Fatalf("prompt %d: zero steering gave %v %v, plain %v %v", i, steered[i].Tokens, steered[i].LogProbs, plain[i].Tokens, plain[i].LogProbs)
				}
			}
		})
	}
}

// TestProjectOutRemovesComponent: after ProjectOut, every row the next hook
// at the same point sees (Forward, prefill and decode) is orthogonal to the
// direction, which it was not before.
func TestProjectOutRemovesComponent(t *testing.T) {
	for name, cfg := range testConfigs() {
		t.Run(name, func(t *testing.T) {
			m := testModel(t, cfg)
			rng := rand.New(rand.NewPCG(2, 2))
			dir := randVec(rng, cfg.Dim)
			for i := range dir {
				dir[i] *= 5 // not unit length: ProjectOut normalises
			}
			u, _ := unit(dir)
			const point = "blocks.0.hook_resid_post"
			var before, after, rows float64
			measure := func(sum *float64, count bool) model.HookFunc {
				return func(_ string, act []float32, _ []int) {
					for r := 0; r+cfg.Dim <= len(act); r += cfg.Dim {
						x := act[r : r+cfg.Dim]
						var dot, nx float64
						for i, v := range x {
							dot += float64(v) * float64(u[i])
							nx += float64(v) * float64(v)
						}
						*sum = math.Max(*sum, math.Abs(dot)/math.Sqrt(nx))
						if count {
							rows++
						}
					}
				}
			}
			h := model.NewHooks()
			h.Add(point, measure(&before, false))
			if err := ProjectOut(h, point, dir); err != nil {
				t.Fatal(err)
			}
			h.Add(point, measure(&after, true))
			toks := randTokens(rng, 8, cfg.VocabSize)
			forward(t, m, toks, h)
			if _, err := m.Generate([][]int32{toks[:3], toks}, model.GenerateConfig{MaxNewTokens: 5, Hooks: h}); err != nil {
				t.Fatal(err)
			}
			if rows != 8+(3+4)+(8+4) {
				t.Fatalf("measured %v rows, want 27", rows)
			}
			if before < 0.05 {
				t.Fatalf("largest cosine with the direction before projection %.3g: the test is too weak", before)
			}
			if after > 1e-5 {
				t.Fatalf("largest cosine with the direction after projection %.3g, want ~0", after)
			}
		})
	}
}

// TestAddTowardUnembeddingRaisesToken: adding a large multiple of a
// token's unembedding to the last residual stream raises that token (chosen
// as the least likely one) from improbable to likely; greedy generation
// under the same hooks follows the steered Forward.
func TestAddTowardUnembeddingRaisesToken(t *testing.T) {
	for name, cfg := range testConfigs() {
		t.Run(name, func(t *testing.T) {
			m := testModel(t, cfg)
			rng := rand.New(rand.NewPCG(3, 3))
			toks := randTokens(rng, 6, cfg.VocabSize)
			V, C := cfg.VocabSize, cfg.Dim
			plain := forward(t, m, toks, nil)
			last := plain[(len(toks)-1)*V:]
			target := slices.Index(last, slices.Min(last))
			d := &interp.Direction{Hook: "blocks.1.hook_resid_post", Vector: slices.Clone(m.Params.LMHead[target*C : (target+1)*C])}
			h, err := NewHooks(cfg, Spec{Direction: d, Scale: 100, Unit: true})
			if err != nil {
				t.Fatal(err)
			}
			steered := forward(t, m, toks, h)
			sl := steered[(len(toks)-1)*V:]
			p0, p1 := prob(last, target), prob(sl, target)
			if !(p1 > 0.2 && p1 > 20*p0) {
				t.Fatalf("p(token %d) %.3g unsteered, %.3g steered; want it raised 20-fold, above 0.2", target, p0, p1)
			}
			gens, err := m.Generate([][]int32{toks}, model.GenerateConfig{MaxNewTokens: 3, Hooks: h})
			if err != nil {
				t.Fatal(err)
			}
			g := gens[0]
			best := slices.Index(sl, slices.Max(sl))
			if g.Tokens[0] != int32(best) || math.Abs(math.Exp(float64(g.LogProbs[0]))-prob(sl, best)) > 1e-4 {
				t.Fatalf("steered generation starts with %d (p %.4g), steered Forward's argmax is %d (p %.4g)",
					g.Tokens[0], math.Exp(float64(g.LogProbs[0])), best, prob(sl, best))
			}
		})
	}
}

func prob(logits []float32, i int) float64 {
	mx := float64(slices.Max(logits))
	var z float64
	for _, l := range logits {
		z += math.Exp(float64(l) - mx)
	}
	return math.Exp(float64(logits[i])-mx) / z
}

// TestAddAtPositions: with positions, only those rows move, by exactly
// scale·dir, in Forward and in generation (where position 5 holds a
// generated token).
func TestAddAtPositions(t *testing.T) {
	cfg := testConfigs()["llama"]
	m := testModel(t, cfg)
	rng := rand.New(rand.NewPCG(4, 4))
	toks := randTokens(rng, 7, cfg.VocabSize)
	dir := randVec(rng, cfg.Dim)
	const point = "blocks.1.ln2.hook_normalized"
	record := func(h *model.Hooks, into map[int][]float32) {
		h.Add(point, func(_ string, act []float32, shape []int) {
			for j := 0; j < shape[1]; j++ {
				into[h.Position(0, j)] = slices.Clone(act[j*cfg.Dim : (j+1)*cfg.Dim])
			}
		})
	}
	for _, tc := range []struct {
		name string
		run  func(h *model.Hooks) error
	}{
		{"forward", func(h *model.Hooks) error { _, err := m.Forward(toks, 1, len(toks), h); return err }},
		{"generate", func(h *model.Hooks) error {
			_, err := m.Generate([][]int32{toks[:4]}, model.GenerateConfig{MaxNewTokens: 4, Hooks: h})
			return err
		}},
	} {
		plainRows, rows := map[int][]float32{}, map[int][]float32{}
		plain := model.NewHooks()
		record(plain, plainRows)
		if err := tc.run(plain); err != nil {
			t.Fatal(err)
		}
		h := model.NewHooks()
		if err := Add(h, point, dir, 2, []int{1, 5}); err != nil {
			t.Fatal(err)
		}
		record(h, rows)
		if err := tc.run(h); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 7 {
			t.Fatalf("%s: %d positions recorded, want 7", tc.name, len(rows))
		}
		for p, x := range rows {
			for i := range x {
				want := plainRows[p][i]
				if p == 1 || p == 5 {
					want += 2 * dir[i]
				}
				// The edit comes after layer 1's attention, the last one,
				// so other rows at this point cannot see it; only the
				// token at position 6 of the generation may differ.
				if (tc.name == "forward" || p < 6) && x[i] != want {
					t.Fatalf("%s position %d dim %d: %g, want %g", tc.name, p, i, x[i], want)
				}
			}
		}
	}
}

func TestWidthAndErrors(t *testing.T) {
	cfg := testConfigs()["llama"] // 4 heads of 8, 2 kv heads, hidden 48
	for _, tc := range []struct {
		hook string
		want int
		err  string
	}{
		{"blocks.1.hook_resid_post", 32, ""},
		{"hook_embed", 32, ""},
		{"blocks.0.attn.hook_z", 32, ""},
		{"blocks.0.attn.hook_v", 16, ""},
		{"blocks.0.attn.hook_rot_k", 16, ""},
		{"blocks.1.mlp.hook_post", 48, ""},
		{"blocks.0.attn.hook_pattern", 0, "cannot steer"},
		{"blocks.2.hook_resid_post", 0, "no hook point"},
		{"hook_pos_embed", 0, "no hook point"},
	} {
		w, err := Width(cfg, tc.hook)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Width(%s): %v, want error containing %q", tc.hook, err, tc.err)
			}
			continue
		}
		if err != nil || w != tc.want {
			t.Fatalf("Width(%s) = %d, %v; want %d", tc.hook, w, err, tc.want)
		}
	}
	h := model.NewHooks()
	if err := ProjectOut(h, "hook_embed", make([]float32, 32)); err == nil {
		t.Fatal("ProjectOut accepted a zero direction")
	}
	if err := Add(h, "blocks.0.hook_resid_pre", []float32{1}, float32(math.Inf(1)), nil); err == nil {
		t.Fatal("Add accepted an infinite scale")
	}
	d := &interp.Direction{Hook: "blocks.0.hook_resid_post", Vector: make([]float32, 32)}
	if err := (Spec{Direction: d, Hooks: []string{"blocks.0.mlp.hook_post"}, Scale: 1}).Apply(h, cfg); err == nil || !strings.Contains(err.Error(), "48") {
		t.Fatalf("width mismatch: %v", err)
	}
	if got := AtLayers([]int{0, 3}, "hook_resid_mid"); !slices.Equal(got, []string{"blocks.0.hook_resid_mid", "blocks.3.hook_resid_mid"}) {
		t.Fatalf("AtLayers: %v", got)
	}
}

// TestCompare: pairs share their seed, so with zero steering every pair is
// identical while sampling, and samples of one prompt differ from each other.
func TestCompare(t *testing.T) {
	cfg := testConfigs()["gpt2"]
	m := testModel(t, cfg)
	prompts := [][]int32{{1, 2, 3}, {4}}
	h, err := NewHooks(cfg, Spec{Direction: &interp.Direction{Hook: "blocks.1.hook_resid_pre", Vector: make([]float32, cfg.Dim)}, Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := Compare(m, prompts, 3, model.GenerateConfig{MaxNewTokens: 6, Temperature: 1.5, Seed: 10}, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 6 || pairs[4].Prompt != 1 || pairs[4].Sample != 1 || pairs[4].Seed != 14 {
		t.Fatalf("pairs layout: %d pairs, pair 4 = %+v", len(pairs), pairs[4])
	}
	distinct := map[string]bool{}
	for _, p := range pairs {
		if !slices.Equal(p.Plain.Tokens, p.Steered.Tokens) {
			t.Fatalf("prompt %d sample %d: zero steering changed %v into %v", p.Prompt, p.Sample, p.Plain.Tokens, p.Steered.Tokens)
		}
		if p.Prompt == 0 {
			distinct[fmt.Sprint(p.Plain.Tokens)] = true
		}
	}
	if len(distinct) < 2 {
		t.Fatal("three samples at temperature 1.5 were all the same: seeds are not per sample")
	}
	if _, err := Compare(m, prompts, 0, model.GenerateConfig{MaxNewTokens: 1}, h); err == nil {
		t.Fatal("n = 0 accepted")
	}
}
