package train

import (
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/model"
)

// toyTarget is the token the RL tests reward: the reward of a completion
// is the fraction of its tokens equal to it (1/12 for the initial policy).
const toyTarget = 3

func targetReward(_, completion []int32) float64 {
	n := 0
	for _, t := range completion {
		if t == toyTarget {
			n++
		}
	}
	return float64(n) / float64(max(len(completion), 1))
}

// sampleGoldKL estimates, on fresh samples from policy, the mean reward and
// the mean per-sequence KL to ref.
func sampleGoldKL(t testing.TB, policy, ref *model.Model, prompts [][]int32, seed int64) (reward, kl float64) {
	t.Helper()
	ev, err := EvaluatePolicy(policy, ref, FuncScorer(targetReward), prompts, RolloutConfig{ResponseLength: toyCompletion}, seed)
	if err != nil {
		t.Fatal(err)
	}
	return ev.Reward, ev.KL
}

func toyPPOConfig() PPOConfig {
	cfg := DefaultPPOConfig()
	cfg.ResponseLength = toyCompletion
	cfg.LearningRate = 3e-3
	cfg.LRSchedulerType = "constant"
	cfg.PerDeviceTrainBatchSize, cfg.NumMiniBatches = 16, 2
	cfg.TotalEpisodes = 32 * 10
	cfg.KLCoef = 0.1
	cfg.Seed = 7
	return cfg
}

// TestPPORaisesRewardWithinKL trains PPO on the target-token task and
// checks, on fresh samples, that the reward rises by at least 0.15 while
// the KL to the reference stays below 4 nats per sequence. (With kl_coef
// 0.1 the reward levels off at 0.3-0.4 from 0.09 within ten batches, at a
// KL of 1-2 nats, across seeds.)
func TestPPORaisesRewardWithinKL(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	prompts := toyPrompts(rng, 64)
	evalPrompts := toyPrompts(rng, 256)
	policy := toyModel(t, 21)
	ref, _ := CloneModel(policy)
	value, err := NewScalarModel(policy, 22)
	if err != nil {
		t.Fatal(err)
	}
	r0, _ := sampleGoldKL(t, policy, ref, evalPrompts, 99)
	cfg := toyPPOConfig()
	race := underRace(t)
	if race {
		cfg.TotalEpisodes = 2 * cfg.BatchSize()
	}
	tr, err := NewPPOTrainer(policy, ref, value, FuncScorer(targetReward), prompts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Train(func(step int, m Metrics) {
		if step%2 == 0 {
			t.Logf("step %d: scores %.3f kl %.3f rlhf %.3f clipfrac %.3f vloss %.4f vclip %.3f ent %.3f approxkl %.4f", step, m["objective/scores"], m["objective/kl"], m["objective/rlhf_reward"], m["policy/clipfrac"], m["loss/value"], m["val/clipfrac"], m["policy/entropy"], m["policy/approxkl"])
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	r1, kl := sampleGoldKL(t, policy, ref, evalPrompts, 99)
	t.Logf("reward %.3f -> %.3f, KL %.3f nats/sequence", r0, r1, kl)
	if race {
		return
	}
	if r1 < r0+0.15 {
		t.Errorf("reward %.3f -> %.3f, want a rise of at least 0.15", r0, r1)
	}
	if kl > 4 {
		t.Errorf("KL to the reference %.3f nats per sequence, want < 4", kl)
	}
}
