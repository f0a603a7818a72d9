package train

import (
	"math/rand/v2"
	"testing"
)

// TestRLOOAdvantages checks the leave-one-out baseline by hand: in the
// group (1, 0, 0.5) the baselines are 0.25, 0.75 and 0.5.
func TestRLOOAdvantages(t *testing.T) {
	cases := []struct {
		r    []float64
		k    int
		want []float64
	}{
		{[]float64{1, 0, 0.5}, 3, []float64{0.75, -0.75, 0}},
		{[]float64{1, 0, 2, 2}, 2, []float64{1, -1, 0, 0}},
	}
	for _, tc := range cases {
		got := RLOOAdvantages(tc.r, tc.k)
		for i := range got {
			if !near(got[i], tc.want[i], 1e-12) {
				t.Errorf("RLOOAdvantages(%v, %d) = %v, want %v", tc.r, tc.k, got, tc.want)
				break
			}
		}
	}
}

// TestRLOORaisesRewardWithinKL trains RLOO on the target-token task and
// checks on fresh samples that the reward rises by at least 0.2 while the
// KL to the reference stays below 4 nats per sequence.
func TestRLOORaisesRewardWithinKL(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	prompts, evalPrompts := toyPrompts(rng, 64), toyPrompts(rng, 256)
	policy := toyModel(t, 31)
	ref, _ := CloneModel(policy)
	cfg := DefaultRLOOConfig()
	cfg.ResponseLength, cfg.LearningRate, cfg.LRSchedulerType = toyCompletion, 3e-3, "constant"
	cfg.PerDeviceTrainBatchSize, cfg.NumMiniBatches, cfg.RLOOK = 16, 2, 4
	cfg.TotalEpisodes, cfg.KLCoef, cfg.Seed = 32*10, 0.1, 9
	race := underRace(t)
	if race {
		cfg.TotalEpisodes = 32 * 2
	}
	tr, err := NewRLOOTrainer(policy, ref, FuncScorer(targetReward), prompts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r0, _ := sampleGoldKL(t, policy, ref, evalPrompts, 99)
	err = tr.Train(func(step int, m Metrics) {
		t.Logf("step %d: scores %.3f kl %.3f rlhf %.3f clipfrac %.3f approxkl %.4f", step, m["objective/scores"], m["objective/kl"], m["objective/rlhf_reward"], m["policy/clipfrac"], m["policy/approxkl"])
	})
	if err != nil {
		t.Fatal(err)
	}
	r1, kl := sampleGoldKL(t, policy, ref, evalPrompts, 99)
	t.Logf("reward %.3f -> %.3f, KL %.3f nats/sequence", r0, r1, kl)
	if race {
		return
	}
	if r1 < r0+0.2 {
		t.Errorf("reward %.3f -> %.3f, want a rise of at least 0.2", r0, r1)
	}
	if kl > 4 {
		t.Errorf("KL to the reference %.3f nats per sequence, want < 4", kl)
	}
}
