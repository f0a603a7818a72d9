package mirage

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/alignlab/alignlab/model"
)

func testModel(t *testing.T) *model.Model {
	t.Helper()
	m, err := model.New(model.GPT2Config(61, 32, 2, 4, 40), 3)
	if err != nil {
		t.Fatal(err)
	}
	// Scale the init up so that sampling is not near-uniform.
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range m.Params.Data {
		m.Params.Data[i] += float32(0.2 * rng.NormFloat64())
	}
	return m
}

func testPrompts(rng *rand.Rand, lens ...int) [][]int32 {
	out := make([][]int32, len(lens))
	for i, n := range lens {
		for range n {
			out[i] = append(out[i], int32(rng.IntN(61)))
		}
	}
	return out
}

// TestGenerateMatchesModelGenerate: with no hooks the recomputing generator
// samples exactly what model.Generate samples (same streams, same logits up
// to float rounding, which these seeds do not cross).
func TestGenerateMatchesModelGenerate(t *testing.T) {
	m := testModel(t)
	prompts := testPrompts(rand.New(rand.NewPCG(1, 2)), 5, 3, 5, 8, 1)
	for _, temp := range []float32{0, 1} {
		cfg := model.GenerateConfig{MaxNewTokens: 10, Temperature: temp, Seed: 9, StopTokens: []int32{4}}
		want, err := m.Generate(prompts, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := generate(m, prompts, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !slices.Equal(got[i], want[i].Tokens) {
				t.Fatalf("temperature %g prompt %d: %v, model.Generate %v", temp, i, got[i], want[i].Tokens)
			}
		}
	}
}

// TestAblationRemovesTheDirection: a hook after the projection sees no
// component along the direction, at every position of every step.
func TestAblationRemovesTheDirection(t *testing.T) {
	m := testModel(t)
	d := m.Config.Dim
	u := RandomDirections([]string{"x"}, d, 5)["x"]
	hooks := model.NewHooks()
	hooks.Add("blocks.0.hook_resid_post", func(_ string, act []float32, _ []int) { projectOut(act, u) })
	worst, seen := 0.0, 0
	hooks.Add("blocks.0.hook_resid_post", func(_ string, act []float32, _ []int) {
		for r := 0; r < len(act); r += d {
			var dot float64
			for j := 0; j < d; j++ {
				dot += float64(act[r+j]) * float64(u[j])
			}
			worst = math.Max(worst, math.Abs(dot))
			seen++
		}
	})
	if _, err := generate(m, testPrompts(rand.New(rand.NewPCG(4, 4)), 4, 6), hooks, model.GenerateConfig{MaxNewTokens: 5}); err != nil {
		t.Fatal(err)
	}
	if seen == 0 || worst > 1e-4 {
		t.Fatalf("after projection the largest component along u is %g (%d rows seen)", worst, seen)
	}
}

func TestProjectOut(t *testing.T) {
	u := []float32{0.6, 0.8}
	act := []float32{3, 4, -0.8, 0.6} // two rows: along u (length 5), orthogonal
	projectOut(act, u)
	want := []float32{0, 0, -0.8, 0.6}
	for i := range act {
		if math.Abs(float64(act[i]-want[i])) > 1e-6 {
			t.Fatalf("projectOut: %v, want %v", act, want)
		}
	}
}
