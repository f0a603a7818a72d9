package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/alignlab/alignlab/model"
)

// overfitData is 4 windows of 16 random tokens from a vocabulary of 32,
// each window starting with a different token so every target is
// determined by its prefix and a perfect fit (loss 0) exists.
func overfitData() (tokens, targets []int32) {
	const B, T, V = 4, 16, 32
	rng := rand.New(rand.NewPCG(42, 1))
	tokens, targets = make([]int32, B*T), make([]int32, B*T)
	for b := 0; b < B; b++ {
		seq := make([]int32, T+1)
		seq[0] = int32(b)
		for i := 1; i <= T; i++ {
			seq[i] = int32(rng.IntN(V))
		}
		copy(tokens[b*T:], seq[:T])
		copy(targets[b*T:], seq[1:])
	}
	return tokens, targets
}

// TestOverfit trains a tiny model of each family on 64 tokens and requires
// the loss to fall below 0.1 within 150 steps (from about ln 32 = 3.47;
// it takes about 30), in under 10 s. Under the race detector it runs 40
// steps and only requires the loss to halve.
func TestOverfit(t *testing.T) {
	const B, T = 4, 16
	steps, threshold := 150, float32(0.1)
	if raceEnabled {
		steps, threshold = 40, 1.7
	}
	tokens, targets := overfitData()
	for _, tc := range []struct {
		name string
		cfg  model.Config
	}{
		{"gpt2", model.GPT2Config(32, T, 2, 2, 32)},
		{"llama", model.LlamaConfig(32, T, 2, 4, 2, 32, 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			m, err := model.New(tc.cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultAdamWConfig()
			cfg.LR = 1e-2
			tr := NewLMTrainer(m, cfg)
			tr.MaxGradNorm = 1
			tr.LR = func(step int) float32 { return CosineSchedule(step, 10, steps, 1e-2, 1e-3) }
			var st StepStats
			for i := 0; i < steps; i++ {
				if st, err = tr.TrainStep(tokens, targets, nil, B, T); err != nil {
					t.Fatal(err)
				}
				if st.Loss < threshold {
					break
				}
			}
			if st.Loss >= threshold {
				t.Fatalf("loss %.4f after %d steps, want < %v", st.Loss, st.Step+1, threshold)
			}
			t.Logf("loss %.4f at step %d in %v", st.Loss, st.Step, time.Since(start).Round(time.Millisecond))
			if d := time.Since(start); !raceEnabled && d > 10*time.Second {
				t.Errorf("overfitting took %v, want < 10 s", d)
			}
		})
	}
}

// TestNonFiniteStopsTraining checks that a poisoned weight or an absurd
// learning rate stops training with an error naming the step and the
// remedy, and that no update is applied on that step.
func TestNonFiniteStopsTraining(t *testing.T) {
	tokens, targets := overfitData()
	t.Run("poisoned weight", func(t *testing.T) {
		m, _ := model.New(model.GPT2Config(32, 16, 1, 2, 16), 1)
		tr := NewLMTrainer(m, DefaultAdamWConfig())
		for i := 0; i < 3; i++ {
			if _, err := tr.TrainStep(tokens, targets, nil, 4, 16); err != nil {
				t.Fatal(err)
			}
		}
		m.Params.Layers[0].FCW[5] = float32(math.NaN())
		before := append([]float32(nil), m.Params.Data...)
		_, err := tr.TrainStep(tokens, targets, nil, 4, 16)
		if err == nil || !strings.Contains(err.Error(), "step 3: loss is NaN; lower the learning rate or check the data") {
			t.Fatalf("error %v, want step 3 loss is NaN", err)
		}
		for i, p := range m.Params.Data {
			if p != before[i] && !(p != p && before[i] != before[i]) {
				t.Fatalf("parameter %d changed on the failed step", i)
			}
		}
	})
	t.Run("huge learning rate", func(t *testing.T) {
		m, _ := model.New(model.LlamaConfig(32, 16, 1, 2, 2, 16, 32), 1)
		tr := NewLMTrainer(m, DefaultAdamWConfig())
		tr.LR = func(int) float32 { return 1e30 }
		var err error
		for i := 0; i < 20 && err == nil; i++ {
			_, err = tr.TrainStep(tokens, targets, nil, 4, 16)
		}
		if err == nil || !strings.Contains(err.Error(), "lower the learning rate") || !strings.HasPrefix(err.Error(), "step ") {
			t.Fatalf("error %v, want a non-finite loss or gradient naming the step", err)
		}
		t.Log(err)
	})
}

func TestNextTokenBatch(t *testing.T) {
	corpus := []int32{0, 1, 2, 3, 4, 5, 6}
	tok, tgt := make([]int32, 6), make([]int32, 6)
	if err := NextTokenBatch(corpus, []int{0, 3}, 3, tok, tgt); err != nil {
		t.Fatal(err)
	}
	if want := []int32{0, 1, 2, 3, 4, 5}; !equal(tok, want) {
		t.Fatalf("tokens %v, want %v", tok, want)
	}
	if want := []int32{1, 2, 3, 4, 5, 6}; !equal(tgt, want) {
		t.Fatalf("targets %v, want %v", tgt, want)
	}
	if err := NextTokenBatch(corpus, []int{0, 4}, 3, tok, tgt); err == nil {
		t.Fatal("a window past the end of the corpus was accepted")
	}
}

func equal(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
