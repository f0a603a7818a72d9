package train

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestRolloutLayout checks a rollout's batch layout and that the
// generation-time log-probs (which PPO's ratio starts from) agree with a
// full forward pass over the laid-out batch, and that the reference's are
// the same when the reference is an identical copy.
func TestRolloutLayout(t *testing.T) {
	prompts := [][]int32{{1, 2, 3}, {4}, {5, 6}}
	policy := toyModel(t, 2)
	ref, _ := CloneModel(policy)
	stop := int32(toyVocab - 1)
	cfg := RolloutConfig{ResponseLength: 5, StopTokenIDs: []int32{stop}, MissingEOSPenalty: 0.5}
	r, err := sampleRollout(policy, ref, FuncScorer(func(_, c []int32) float64 { return float64(len(c)) }), prompts, cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	for b, p := range prompts {
		row := r.Tokens[b*r.T : (b+1)*r.T]
		if !reflect.DeepEqual(row[:len(p)], p) || !reflect.DeepEqual(row[r.Start[b]:r.Start[b]+r.Len(b)], r.Completions[b]) {
			t.Fatalf("row %d = %v, want prompt %v then completion %v", b, row, p, r.Completions[b])
		}
		n := 0
		for _, v := range r.Mask[b*r.T : (b+1)*r.T] {
			n += int(v)
		}
		if n != r.Len(b) {
			t.Errorf("row %d: mask covers %d tokens, completion has %d", b, n, r.Len(b))
		}
		want := float64(r.Len(b))
		if !r.Stopped[b] {
			want -= 0.5
		} else if r.Completions[b][r.Len(b)-1] != stop {
			t.Errorf("row %d stopped without ending on the stop token: %v", b, r.Completions[b])
		}
		if r.Scores[b] != want {
			t.Errorf("row %d: score %g, want %g (length, less 0.5 without a stop token)", b, r.Scores[b], want)
		}
	}
	full, err := r.tokenLogProbs(policy, 0) // one pass, as the reference's was
	if err != nil {
		t.Fatal(err)
	}
	chunked, err := r.tokenLogProbs(policy, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range r.Mask {
		if m == 0 {
			continue
		}
		if d := math.Abs(float64(full[i] - r.LogProbs[i])); d > 1e-4 {
			t.Errorf("token %d: generation log-prob %g, forward %g", i, r.LogProbs[i], full[i])
		}
		if d := math.Abs(float64(full[i] - chunked[i])); d > 1e-5 {
			t.Errorf("token %d: log-prob %g in one pass, %g in passes of 2 rows", i, full[i], chunked[i])
		}
		if r.RefLogProbs[i] != full[i] {
			t.Errorf("token %d: reference log-prob %g, policy's %g from an identical copy", i, r.RefLogProbs[i], full[i])
		}
	}
}

// TestRLDeterministic checks that the same seeds give the same metrics,
// step by step, for PPO, RLOO and GRPO.
func TestRLDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	prompts := toyPrompts(rng, 16)
	runs := map[string]func() []Metrics{
		"ppo": func() []Metrics {
			policy := toyModel(t, 1)
			ref, _ := CloneModel(policy)
			value, _ := NewScalarModel(policy, 2)
			cfg := toyPPOConfig()
			cfg.TotalEpisodes = 2 * cfg.BatchSize()
			tr, err := NewPPOTrainer(policy, ref, value, FuncScorer(targetReward), prompts, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var ms []Metrics
			if err := tr.Train(func(_ int, m Metrics) { ms = append(ms, m) }); err != nil {
				t.Fatal(err)
			}
			return ms
		},
		"rloo": func() []Metrics {
			policy := toyModel(t, 1)
			ref, _ := CloneModel(policy)
			cfg := DefaultRLOOConfig()
			cfg.ResponseLength, cfg.LearningRate, cfg.TotalEpisodes, cfg.Seed = toyCompletion, 1e-3, 32, 3
			tr, err := NewRLOOTrainer(policy, ref, FuncScorer(targetReward), prompts, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var ms []Metrics
			if err := tr.Train(func(_ int, m Metrics) { ms = append(ms, m) }); err != nil {
				t.Fatal(err)
			}
			return ms
		},
		"grpo": func() []Metrics {
			policy := toyModel(t, 1)
			ref, _ := CloneModel(policy)
			cfg := DefaultGRPOConfig()
			cfg.MaxCompletionLength, cfg.LearningRate, cfg.TotalEpisodes, cfg.Seed = toyCompletion, 1e-3, 32, 3
			cfg.NumGenerations = 4
			tr, err := NewGRPOTrainer(policy, ref, FuncScorer(targetReward), prompts, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var ms []Metrics
			if err := tr.Train(func(_ int, m Metrics) { ms = append(ms, m) }); err != nil {
				t.Fatal(err)
			}
			return ms
		},
	}
	for name, run := range runs {
		if raceEnabled && name != "grpo" {
			continue // the race build checks one; all three run normally
		}
		t.Run(name, func(t *testing.T) {
			a, b := run(), run()
			if len(a) < 2 || !reflect.DeepEqual(a, b) {
				t.Fatalf("two runs with one seed differ:\n%v\n%v", a, b)
			}
			if a[0]["loss/policy"] == 0 && a[0]["policy/approxkl"] == 0 {
				t.Errorf("step 0 metrics look empty: %v", a[0])
			}
		})
	}
}

// TestRLConfigErrors checks that bad options are reported, not run.
func TestRLConfigErrors(t *testing.T) {
	policy := toyModel(t, 1)
	ref, _ := CloneModel(policy)
	value, _ := NewScalarModel(policy, 2)
	prompts := [][]int32{{1, 2}}
	ppo := toyPPOConfig()
	ppo.Cliprange = 0
	if _, err := NewPPOTrainer(policy, ref, value, FuncScorer(targetReward), prompts, ppo); err == nil {
		t.Error("PPO with cliprange 0 was accepted")
	}
	if _, err := NewPPOTrainer(policy, policy, value, FuncScorer(targetReward), prompts, toyPPOConfig()); err == nil {
		t.Error("PPO with the policy as its own reference was accepted")
	}
	rloo := DefaultRLOOConfig()
	rloo.TotalEpisodes, rloo.RLOOK = 8, 3 // 8 completions do not split into groups of 3
	if _, err := NewRLOOTrainer(policy, ref, FuncScorer(targetReward), prompts, rloo); err == nil {
		t.Error("RLOO with a batch not a multiple of rloo_k was accepted")
	}
	grpo := DefaultGRPOConfig()
	grpo.TotalEpisodes, grpo.LossType = 8, "sum"
	if _, err := NewGRPOTrainer(policy, ref, FuncScorer(targetReward), prompts, grpo); err == nil {
		t.Error("GRPO with loss_type sum was accepted")
	}
	grpo.LossType = "bnpo"
	if _, err := NewGRPOTrainer(policy, nil, FuncScorer(targetReward), prompts, grpo); err == nil {
		t.Error("GRPO with beta > 0 and no reference was accepted")
	}
}
