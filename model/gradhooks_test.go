package model

import (
	"math"
	"slices"
	"testing"
)

// BackwardLogits with the cross-entropy's logit gradient gives the weight
// gradients Loss+Backward gives (so the head and the whole backward are
// entered correctly), and the gradient hooks see ∂loss/∂ln_final.
func TestBackwardLogitsMatchesLoss(t *testing.T) {
	for _, cfg := range []Config{GPT2Config(23, 8, 2, 2, 8), LlamaConfig(23, 8, 2, 2, 1, 8, 12)} {
		m, err := New(cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		B, T, V := 2, 5, cfg.VocabSize
		toks, targets := make([]int32, B*T), make([]int32, B*T)
		for i := range toks {
			toks[i], targets[i] = int32(i*7%V), int32(i*5%V)
		}
		if _, err := m.Loss(toks, targets, nil, B, T); err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(m.Grads.Data)
		m.ZeroGrad()

		logits, err := m.ForwardForGrad(toks, B, T, nil)
		if err != nil {
			t.Fatal(err)
		}
		dl := make([]float32, len(logits))
		for r := 0; r < B*T; r++ {
			row := logits[r*V : (r+1)*V]
			mx := slices.Max(row)
			var s float64
			for _, v := range row {
				s += math.Exp(float64(v - mx))
			}
			for j, v := range row {
				dl[r*V+j] = float32(math.Exp(float64(v-mx))/s) / float32(B*T)
			}
			dl[r*V+int(targets[r])] -= 1 / float32(B*T)
		}
		gh := NewGradHooks()
		var seen []string
		gh.Add("*", func(name string, g []float32, shape []int) { seen = append(seen, name) })
		if err := m.BackwardLogits(dl, gh); err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if g := m.Grads.Data[i]; math.Abs(float64(g-w)) > 1e-5+1e-3*math.Abs(float64(w)) {
				t.Fatalf("%s: grad %d: BackwardLogits %g, Backward %g", cfg.Family, i, g, w)
			}
		}
		if !slices.Contains(seen, "ln_final.hook_normalized") || !slices.Contains(seen, "blocks.0.attn.hook_z") || len(seen) != len(GradNames(cfg)) {
			t.Fatalf("%s: gradient hooks fired %v, want %v", cfg.Family, seen, GradNames(cfg))
		}
		// One backward per forward; bad lengths and names are errors.
		if err := m.BackwardLogits(dl, nil); err == nil {
			t.Fatal("second BackwardLogits accepted")
		}
		if _, err := m.ForwardForGrad(toks, B, T, nil); err != nil {
			t.Fatal(err)
		}
		if err := m.BackwardLogits(dl[:3], nil); err == nil {
			t.Fatal("short gradient accepted")
		}
		for _, name := range []string{"blocks.0.attn.hook_pattern", "blocks.0.attn.hook_attn_scores"} {
			bad := NewGradHooks()
			bad.Add(name, func(string, []float32, []int) {})
			if err := m.BackwardLogits(dl, bad); err == nil {
				t.Fatalf("a gradient hook at %s accepted", name)
			}
		}
	}
}
