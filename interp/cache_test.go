package interp

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/model"
)

// testModels are a tiny model of each family with non-trivial norms and
// biases, so that every term of the decompositions is exercised.
func testModels(t testing.TB) map[string]*model.Model {
	t.Helper()
	out := map[string]*model.Model{}
	for name, cfg := range map[string]model.Config{
		"gpt2":  model.GPT2Config(37, 16, 3, 4, 16),
		"llama": model.LlamaConfig(37, 16, 2, 4, 2, 16, 24),
	} {
		m, err := model.New(cfg, 7)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		// Larger weights than the init's, and random norm weights and
		// biases, so that the blocks matter and nothing is trivially 1 or 0.
		for _, tn := range m.Params.Tensors {
			for i := range tn.Data {
				if len(tn.Shape) == 1 {
					tn.Data[i] = float32(0.3 * rng.NormFloat64())
					if isNormW(tn.Name) {
						tn.Data[i]++
					}
				} else {
					tn.Data[i] = float32(0.15 * rng.NormFloat64())
				}
			}
		}
		out[name] = m
	}
	return out
}

func isNormW(name string) bool {
	return strings.HasSuffix(name, "ln_1.weight") || strings.HasSuffix(name, "ln_2.weight") || name == "ln_f.weight"
}

func testTokens(n, vocab int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(rng.IntN(vocab))
	}
	return out
}

// Every cached activation equals what a plain hook sees, with the shape
// the hook reports; the logits are Forward's.
func TestRunWithCacheAll(t *testing.T) {
	for fam, m := range testModels(t) {
		B, T := 2, 5
		toks := testTokens(B*T, m.Config.VocabSize, 1)
		want := map[string]*Activation{}
		h := model.NewHooks()
		h.Add("*", func(name string, act []float32, shape []int) {
			want[name] = &Activation{Shape: slices.Clone(shape), Data: slices.Clone(act)}
		})
		logits, err := m.Forward(toks, B, T, h)
		if err != nil {
			t.Fatal(err)
		}
		logits = slices.Clone(logits)
		c, err := RunWithCache(m, toks, B, T, CacheOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Names) != len(model.HookNames(m.Config)) || len(want) != len(c.Names) {
			t.Fatalf("%s: cached %d names, hooks fired %d, HookNames %d", fam, len(c.Names), len(want), len(model.HookNames(m.Config)))
		}
		for n, w := range want {
			got := c.Get(n)
			if got == nil || !slices.Equal(got.Shape, w.Shape) || !slices.Equal(got.Data, w.Data) {
				t.Fatalf("%s: %s cached %v, hook saw shape %v", fam, n, got.Shape, w.Shape)
			}
		}
		if !slices.Equal(c.Logits, logits) {
			t.Fatalf("%s: logits differ", fam)
		}
	}
}

func TestNamesFilter(t *testing.T) {
	cfg := model.GPT2Config(37, 16, 3, 4, 16)
	tests := []struct {
		name string
		f    NamesFilter
		want []string
		bad  bool
	}{
		{"exact", NamesFilter{Names: []string{"blocks.1.hook_resid_post", "hook_embed"}}, []string{"hook_embed", "blocks.1.hook_resid_post"}, false},
		{"glob", NamesFilter{Names: []string{"blocks.*.hook_attn_out"}}, []string{"blocks.0.hook_attn_out", "blocks.1.hook_attn_out", "blocks.2.hook_attn_out"}, false},
		{"glob+layers", NamesFilter{Names: []string{"*resid_pre"}, Layers: []int{0, 2}}, []string{"blocks.0.hook_resid_pre", "blocks.2.hook_resid_pre"}, false},
		{"regexp", NamesFilter{Names: []string{`re:^blocks\.[12]\.attn\.hook_(q|k)$`}}, []string{"blocks.1.attn.hook_q", "blocks.1.attn.hook_k", "blocks.2.attn.hook_q", "blocks.2.attn.hook_k"}, false},
		{"func", NamesFilter{Func: func(n string) bool { return n == "ln_final.hook_normalized" }}, []string{"ln_final.hook_normalized"}, false},
		{"typo", NamesFilter{Names: []string{"blocks.1.hook_resid"}}, nil, true},
		{"bad layer", NamesFilter{Layers: []int{3}}, nil, true},
		{"bad regexp", NamesFilter{Names: []string{"re:("}}, nil, true},
		{"nothing", NamesFilter{Names: []string{"nothing*"}}, nil, true},
	}
	for _, tc := range tests {
		got, err := tc.f.Match(cfg)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: matched %v, want an error", tc.name, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// Positions keep the chosen rows (and query rows of the attention maps).
func TestRunWithCachePositions(t *testing.T) {
	m := testModels(t)["gpt2"]
	B, T := 2, 6
	toks := testTokens(B*T, m.Config.VocabSize, 2)
	full, err := RunWithCache(m, toks, B, T, CacheOptions{Filter: NamesFilter{Names: []string{"blocks.1.*"}}})
	if err != nil {
		t.Fatal(err)
	}
	pos := []int{-1, 2}
	c, err := RunWithCache(m, toks, B, T, CacheOptions{Filter: NamesFilter{Names: []string{"blocks.1.*"}, Positions: pos}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Positions, []int{5, 2}) {
		t.Fatalf("positions %v", c.Positions)
	}
	for _, n := range c.Names {
		f, a := full.Get(n), c.Get(n)
		if model.IsAttentionMap(n) {
			nH := f.Shape[1]
			for bh := 0; bh < B*nH; bh++ {
				for i, p := range c.Positions {
					if !slices.Equal(a.Data[(bh*2+i)*T:(bh*2+i+1)*T], f.Data[(bh*T+p)*T:(bh*T+p+1)*T]) {
						t.Fatalf("%s: query row %d differs", n, p)
					}
				}
			}
			continue
		}
		if a.Shape[1] != 2 {
			t.Fatalf("%s: shape %v", n, a.Shape)
		}
		row := numel(f.Shape[2:])
		for b := 0; b < B; b++ {
			for i, p := range c.Positions {
				if !slices.Equal(a.Data[(b*2+i)*row:(b*2+i+1)*row], f.Data[(b*T+p)*row:(b*T+p+1)*row]) {
					t.Fatalf("%s: b %d position %d differs", n, b, p)
				}
			}
		}
	}
	if _, err := RunWithCache(m, toks, B, T, CacheOptions{Filter: NamesFilter{Positions: []int{6}}}); err == nil {
		t.Fatal("position 6 of 6 accepted")
	}
}

// The gradients of a logit difference at every point with a gradient
// match central finite differences, taken by adding ±eps to one element
// through a forward hook.
func TestRunWithCacheGradients(t *testing.T) {
	for fam, m := range testModels(t) {
		B, T := 2, 4
		toks := testTokens(B*T, m.Config.VocabSize, 3)
		metric := LogitDiffMetric(-1, 3, 5)
		c, err := RunWithCache(m, toks, B, T, CacheOptions{Metric: metric})
		if err != nil {
			t.Fatal(err)
		}
		names := model.GradNames(m.Config)
		if len(c.Grads) != len(names) {
			t.Fatalf("%s: %d gradients, want %d", fam, len(c.Grads), len(names))
		}
		rng := rand.New(rand.NewPCG(5, 6))
		for _, n := range names {
			g := c.Grads[n]
			var norm float64
			for _, v := range g.Data {
				norm += float64(v) * float64(v)
			}
			if norm == 0 {
				t.Fatalf("%s: gradient at %s is zero", fam, n)
			}
			for trial := 0; trial < 3; trial++ {
				idx := rng.IntN(len(g.Data))
				if trial == 0 { // the last position, where the gradient lives
					idx = len(g.Data) - 1 - rng.IntN(len(g.Data)/(B*T))
				}
				num := finiteDiff(t, m, toks, B, T, n, idx, metric)
				an := float64(g.Data[idx])
				if math.Abs(num-an) > 2e-3+2e-2*math.Abs(an) {
					t.Fatalf("%s: %s[%d]: backward %g, finite difference %g", fam, n, idx, an, num)
				}
			}
		}
		if c.Metric == 0 {
			t.Fatalf("%s: metric 0", fam)
		}
	}
}

func finiteDiff(t *testing.T, m *model.Model, toks []int32, B, T int, name string, idx int, metric MetricFunc) float64 {
	t.Helper()
	const eps = 1e-2
	eval := func(d float32) float64 {
		h := model.NewHooks()
		h.Add(name, func(_ string, act []float32, _ []int) { act[idx] += d })
		logits, err := m.Forward(toks, B, T, h)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := metric(logits, B, T, m.Config.VocabSize)
		return v
	}
	return (eval(eps) - eval(-eps)) / (2 * eps)
}

// A reused cache gives the same tensors as a fresh one, for the same
// shape, a smaller one and a larger one (which allocates).
func TestRunWithCacheReuse(t *testing.T) {
	m := testModels(t)["llama"]
	metric := LogitDiffMetric(-1, 1, 2)
	var c *Cache
	for i, T := range []int{5, 5, 3, 7} {
		toks := testTokens(T, m.Config.VocabSize, uint64(i))
		fresh, err := RunWithCache(m, toks, 1, T, CacheOptions{Metric: metric})
		if err != nil {
			t.Fatal(err)
		}
		if c, err = RunWithCache(m, toks, 1, T, CacheOptions{Metric: metric, Reuse: c}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Logits, fresh.Logits) || c.Metric != fresh.Metric || len(c.Names) != len(fresh.Names) {
			t.Fatalf("T=%d: reused cache differs", T)
		}
		for _, n := range fresh.Names {
			if !slices.Equal(c.Get(n).Data, fresh.Get(n).Data) || !slices.Equal(c.Get(n).Shape, fresh.Get(n).Shape) {
				t.Fatalf("T=%d: %s differs", T, n)
			}
			if g := fresh.Grads[n]; g != nil && !slices.Equal(c.Grads[n].Data, g.Data) {
				t.Fatalf("T=%d: grad %s differs", T, n)
			}
		}
	}
}
