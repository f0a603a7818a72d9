package train

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestResumeIsExact runs each trainer through the run loop twice, once
// straight through and once stopped after step 2 and resumed from its
// checkpoint with freshly built objects, and checks that metrics.jsonl and
// the final weights are identical.
func TestResumeIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	prompts := toyPrompts(rng, 24)
	pairs, evalPairs := toyPairs(rng, 96), toyPairs(rng, 32)
	type built struct {
		s       Stepper
		weights func() []float32
	}
	builders := map[string]func() built{
		"rm": func() built {
			rm, _ := NewScalarModel(toyModel(t, 1), 2)
			cfg := DefaultRewardConfig()
			cfg.LearningRate, cfg.PerDeviceTrainBatchSize, cfg.GradientAccumulationSteps, cfg.NumTrainEpochs, cfg.Seed = 1e-3, 16, 2, 2, 5
			tr, err := NewRewardTrainer(rm, pairs, evalPairs, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return built{tr, func() []float32 { return append(append([]float32{}, rm.Model.Params.Data...), rm.Head...) }}
		},
		"ppo": func() built {
			policy := toyModel(t, 1)
			ref, _ := CloneModel(policy)
			value, _ := NewScalarModel(policy, 2)
			cfg := toyPPOConfig()
			cfg.TotalEpisodes, cfg.AdaptiveKL, cfg.Target, cfg.Horizon = 5*cfg.BatchSize(), true, 1, 100
			tr, err := NewPPOTrainer(policy, ref, value, FuncScorer(targetReward), prompts, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return built{tr, func() []float32 {
				return append(append([]float32{}, policy.Params.Data...), value.Model.Params.Data...)
			}}
		},
		"rloo": func() built {
			policy := toyModel(t, 1)
			ref, _ := CloneModel(policy)
			cfg := DefaultRLOOConfig()
			cfg.ResponseLength, cfg.LearningRate, cfg.TotalEpisodes, cfg.Seed, cfg.NumMiniBatches = toyCompletion, 1e-3, 5*16, 3, 2
			tr, err := NewRLOOTrainer(policy, ref, FuncScorer(targetReward), prompts, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return built{tr, func() []float32 { return append([]float32{}, policy.Params.Data...) }}
		},
		"grpo": func() built {
			policy := toyModel(t, 1)
			ref, _ := CloneModel(policy)
			cfg := DefaultGRPOConfig()
			cfg.MaxCompletionLength, cfg.LearningRate, cfg.TotalEpisodes, cfg.Seed = toyCompletion, 1e-3, 5*8, 3
			cfg.NumGenerations, cfg.NumIterations = 4, 2
			tr, err := NewGRPOTrainer(policy, ref, FuncScorer(targetReward), prompts, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return built{tr, func() []float32 { return append([]float32{}, policy.Params.Data...) }}
		},
	}
	loop := LoopConfig{LoggingSteps: 2, SaveSteps: 10}
	for name, build := range builders {
		if raceEnabled && (name == "ppo" || name == "rloo") {
			continue // the race build checks the cheaper two; all four run normally
		}
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			full, err := CreateRun(filepath.Join(root, "full"), nil)
			if err != nil {
				t.Fatal(err)
			}
			a := build()
			if err := full.Train(context.Background(), a.s, loop); err != nil {
				t.Fatal(err)
			}
			full.Close()

			dir := filepath.Join(root, "cut")
			cut, err := CreateRun(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			stop := loop
			stop.StopAfter = 3
			if err := cut.Train(context.Background(), build().s, stop); !errors.Is(err, ErrStopped) {
				t.Fatalf("stop_after: got %v, want ErrStopped", err)
			}
			cut.Close()
			re, err := OpenRun(dir)
			if err != nil {
				t.Fatal(err)
			}
			b := build()
			if step, err := re.Resume(b.s); err != nil || step != 3 {
				t.Fatalf("resume: step %d, %v", step, err)
			}
			if err := re.Train(context.Background(), b.s, loop); err != nil {
				t.Fatal(err)
			}
			re.Close()
			want, _ := os.ReadFile(filepath.Join(root, "full", RunMetricsFile))
			got, _ := os.ReadFile(filepath.Join(dir, RunMetricsFile))
			if len(want) == 0 || string(want) != string(got) {
				t.Fatalf("metrics differ:\nuninterrupted:\n%s\nresumed:\n%s", want, got)
			}
			if !reflect.DeepEqual(a.weights(), b.weights()) {
				t.Fatal("final weights differ between the uninterrupted and the resumed run")
			}
		})
	}
}
