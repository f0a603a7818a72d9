package train

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/model"
)

func tinyLlama(t testing.TB, seed int64) *model.Model {
	t.Helper()
	m, err := model.New(model.LlamaConfig(16, 16, 2, 4, 2, 32, 48), seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randomize fills the adapters' B (zero at init, which would make dA zero)
// and applies them.
func randomize(l *LoRA, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range l.Params {
		l.Params[i] = float32(rng.NormFloat64() * 0.05)
	}
	l.Apply()
}

// The adapters' gradients, derived from the engine's full weight gradient,
// match finite differences of the loss with respect to A and B.
func TestLoRAGradientsMatchFiniteDifferences(t *testing.T) {
	cases := []struct {
		name    string
		m       *model.Model
		targets []string
	}{
		{"llama all", tinyLlama(t, 3), []string{"q", "k", "v", "o", "gate", "up", "down"}},
		{"llama hf names", tinyLlama(t, 4), []string{"v_proj", "down_proj"}},
		{"gpt2", tinyModel(t, 5), []string{"q", "k", "v", "c_proj", "c_fc"}},
	}
	rng := rand.New(rand.NewPCG(9, 9))
	B, T := 2, 8
	tokens, targets := make([]int32, B*T), make([]int32, B*T)
	for i := range tokens {
		tokens[i], targets[i] = int32(rng.IntN(16)), int32(rng.IntN(16))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := NewLoRA(c.m, LoRAConfig{R: 3, Alpha: 6, Targets: c.targets}, 1)
			if err != nil {
				t.Fatal(err)
			}
			randomize(l, 2)
			loss := func() float64 {
				v, err := c.m.Loss(tokens, targets, nil, B, T)
				if err != nil {
					t.Fatal(err)
				}
				return float64(v)
			}
			c.m.ZeroGrad()
			loss()
			if err := c.m.Backward(); err != nil {
				t.Fatal(err)
			}
			if err := l.Gradients(); err != nil {
				t.Fatal(err)
			}
			grad := slices.Clone(l.Grads)
			// Probe the largest entries of each adapter's A and B.
			for _, a := range l.Adapters {
				for _, buf := range [][]float32{a.A, a.B} {
					off := int(uintptrDiff(buf, l.Params))
					best := 0
					for i := range buf {
						if math.Abs(float64(grad[off+i])) > math.Abs(float64(grad[off+best])) {
							best = i
						}
					}
					const h = 1e-2
					orig := buf[best]
					buf[best] = orig + h
					l.Apply()
					up := loss()
					buf[best] = orig - h
					l.Apply()
					down := loss()
					buf[best] = orig
					l.Apply()
					num, got := (up-down)/(2*h), float64(grad[off+best])
					if math.Abs(num-got) > 0.03*math.Abs(num)+2e-4 {
						t.Errorf("layer %d %s: gradient %g, finite difference %g", a.Layer, a.Module, got, num)
					}
				}
			}
		})
	}
}

// uintptrDiff is the offset of view within buf, in elements.
func uintptrDiff(view, buf []float32) int {
	for i := range buf {
		if &buf[i] == &view[0] {
			return i
		}
	}
	panic("not a view of buf")
}

// DPO with LoRA learns the synthetic preference while only the adapted
// matrices change.
func TestLoRADPOTrains(t *testing.T) {
	if raceEnabled {
		t.Skip("slow under the race detector; TestDPOResumeIsExact/lora runs the same code")
	}
	m := tinyModel(t, 5)
	// The frozen (tied) embeddings bound how far logits can move; at
	// init scale (std 0.02) that is under one nat, so scale them up to
	// what a trained model's look like.
	for i := range m.Params.TokEmb {
		m.Params.TokEmb[i] *= 10
	}
	base := slices.Clone(m.Params.Data)
	l, err := NewLoRA(m, LoRAConfig{R: 4, Alpha: 8, Targets: []string{"q", "k", "v", "o", "up", "down"}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(base, m.Params.Data) {
		t.Fatal("fresh adapters changed the model (B must start at zero)")
	}
	cfg := tinyDPOConfig(LossSigmoid)
	cfg.LearningRate, cfg.NumTrainEpochs = 1e-2, 4
	tr, err := NewDPOTrainer(m, synthPairs(240, 1), synthPairs(64, 2), cfg, DPOOptions{LoRA: l})
	if err != nil {
		t.Fatal(err)
	}
	for tr.Step() < tr.NumSteps() {
		if _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := tr.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LoRA DPO: %d trainable of %d parameters, eval accuracy %.3f, margin %.3f", l.NumTrainable(), len(m.Params.Data), ev["rewards/accuracies"], ev["rewards/margins"])
	if ev["rewards/accuracies"] <= 0.9 {
		t.Fatalf("held-out rewards/accuracies %.3f, want > 0.9", ev["rewards/accuracies"])
	}
	if !slices.Equal(base[:len(m.Params.TokEmb)], m.Params.TokEmb) {
		t.Fatal("LoRA training changed the embeddings")
	}
	if slices.Equal(base, m.Params.Data) {
		t.Fatal("LoRA training changed nothing")
	}
}

// The merged model (W kept in memory) and base + adapter loaded from the
// PEFT files give the same logits; the files carry PEFT's names and shapes.
func TestLoRAMergeEqualsBasePlusAdapter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		newM    func(seed int64) *model.Model
		targets []string
		tensor  string
	}{
		{"llama", func(s int64) *model.Model { return tinyLlama(t, s) }, []string{"q", "v", "gate", "down"}, "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight"},
		{"gpt2", func(s int64) *model.Model { return tinyModel(t, s) }, []string{"c_attn", "mlp.c_proj"}, "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := tc.newM(7)
			l, err := NewLoRA(m, LoRAConfig{R: 2, Alpha: 16, Targets: tc.targets}, 3)
			if err != nil {
				t.Fatal(err)
			}
			randomize(l, 4) // as if trained
			if err := l.SaveAdapter(dir, "base"); err != nil {
				t.Fatal(err)
			}
			tokens := []int32{1, 5, 9, 2, 14, 3, 3, 7}
			merged, err := m.Forward(tokens, 1, len(tokens), nil)
			if err != nil {
				t.Fatal(err)
			}
			merged = slices.Clone(merged)

			fresh := tc.newM(7) // the same base weights
			before, _ := fresh.Forward(tokens, 1, len(tokens), nil)
			before = slices.Clone(before)
			if _, err := LoadAdapter(dir, fresh); err != nil {
				t.Fatal(err)
			}
			got, _ := fresh.Forward(tokens, 1, len(tokens), nil)
			if !slices.Equal(got, merged) {
				t.Fatal("base + loaded adapter differs from the merged model")
			}
			if slices.Equal(before, merged) {
				t.Fatal("the adapter does not change the logits")
			}
			ts, _, err := ckpt.ReadFile(filepath.Join(dir, AdapterWeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, x := range ts {
				found = found || x.Name == tc.tensor
				if strings.HasSuffix(x.Name, "lora_A.weight") && x.Shape[0] != 2 {
					t.Errorf("%s has shape %v, want [r, in]", x.Name, x.Shape)
				}
			}
			if !found {
				t.Fatalf("no tensor %s in the adapter file", tc.tensor)
			}
		})
	}
}

func TestLoRATargets(t *testing.T) {
	llama, gpt := tinyLlama(t, 1).Config, tinyModel(t, 1).Config
	bad := []struct {
		cfg     model.Config
		targets []string
	}{
		{gpt, []string{"q"}},
		{gpt, []string{"gate"}},
		{llama, []string{"c_attn"}},
		{llama, []string{"wte"}},
		{llama, nil},
	}
	for _, b := range bad {
		if _, err := resolveTargets(b.cfg, b.targets); err == nil {
			t.Errorf("%s %v resolved", b.cfg.Family, b.targets)
		}
	}
	mods, err := resolveTargets(gpt, []string{"c_proj"})
	if err != nil || len(mods) != 2 {
		t.Fatalf("GPT-2 c_proj: %v %v, want both projections", mods, err)
	}
}
