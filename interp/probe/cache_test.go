package probe

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/alignlab/alignlab/model"
)

func TestActivationsPositions(t *testing.T) {
	m, err := model.New(model.GPT2Config(61, 32, 2, 4, 40), 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(6, 6))
	seqs := make([][]int32, 4)
	for i, n := range []int{3, 5, 3, 1} {
		for range n {
			seqs[i] = append(seqs[i], int32(rng.IntN(61)))
		}
	}
	hooks := []string{"blocks.0.hook_resid_pre", "blocks.1.hook_resid_post", "blocks.0.mlp.hook_post"}
	last, width, err := Activations(m, seqs, hooks, PosLast)
	if err != nil {
		t.Fatal(err)
	}
	mean, _, err := Activations(m, seqs, hooks, PosMean)
	if err != nil {
		t.Fatal(err)
	}
	if width[0] != m.Config.Dim || width[1] != m.Config.Dim || width[2] != m.Config.HiddenDim {
		t.Fatalf("widths %v", width)
	}
	// Each row equals the sequence run alone, at its last position and
	// averaged over positions.
	for h, name := range hooks {
		d := width[h]
		for i, s := range seqs {
			hs := model.NewHooks()
			var alone []float32
			hs.Add(name, func(_ string, act []float32, _ []int) { alone = slices.Clone(act) })
			if _, err := m.Forward(s, 1, len(s), hs); err != nil {
				t.Fatal(err)
			}
			T := len(s)
			for j := 0; j < d; j++ {
				var avg float64
				for p := 0; p < T; p++ {
					avg += float64(alone[p*d+j]) / float64(T)
				}
				if math.Abs(float64(last[h][i*d+j]-alone[(T-1)*d+j])) > 1e-5 || math.Abs(float64(mean[h][i*d+j])-avg) > 1e-5 {
					t.Fatalf("%s sequence %d column %d: last %g want %g, mean %g want %g", name, i, j, last[h][i*d+j], alone[(T-1)*d+j], mean[h][i*d+j], avg)
				}
			}
		}
	}
	if _, _, err := Activations(m, seqs, hooks, "first"); err == nil {
		t.Fatal("bad position: no error")
	}
	for _, h := range []string{"blocks.0.attn.hook_pattern", "blocks.0.attn.hook_attn_scores", "*"} {
		if _, _, err := Activations(m, seqs, []string{h}, PosLast); err == nil {
			t.Fatalf("hook %s: no error", h)
		}
	}
}

// byLength keeps each batch to one length and at most batchTokens tokens,
// and lists every sequence once.
func TestByLengthBatches(t *testing.T) {
	var seqs [][]int32
	for i := range 300 {
		seqs = append(seqs, make([]int32, []int{8, 3, 600}[i%3]))
	}
	seen := map[int]bool{}
	for _, g := range byLength(seqs) {
		T := len(seqs[g[0]])
		if len(g) > 1 && len(g)*T > batchTokens {
			t.Fatalf("batch of %d sequences of %d tokens", len(g), T)
		}
		for _, i := range g {
			if len(seqs[i]) != T || seen[i] {
				t.Fatalf("sequence %d (length %d) in a batch of length %d, or twice", i, len(seqs[i]), T)
			}
			seen[i] = true
		}
	}
	if len(seen) != len(seqs) {
		t.Fatalf("%d of %d sequences batched", len(seen), len(seqs))
	}
}
