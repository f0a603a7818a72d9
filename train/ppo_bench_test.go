package train

import (
	"errors"
	"testing"
)

// TestCompareBench checks the comparison's ratios and targets on made-up
// curves, including PPO losing gold reward late and DPO never matching.
func TestCompareBench(t *testing.T) {
	rlhf := BenchPhase{Seconds: 30, RMSeconds: 10, PeakMB: 300, Gold: 0.6, KL: 3,
		Curve: []BenchPoint{{5, 0.4}, {10, 0.7}, {20, 0.65}, {30, 0.6}}}
	dpo := BenchPhase{Seconds: 12, PeakMB: 100, Gold: 0.8, KL: 5,
		Curve: []BenchPoint{{2, 0.5}, {4, 0.62}, {8, 0.71}, {12, 0.8}}}
	r := CompareBench(PolicyEval{Reward: 0.3}, 100, rlhf, dpo, nil, false)
	checks := []struct {
		name      string
		got, want float64
	}{
		{"dpo_seconds_to_ppo_gold", *r.DPOSecondsToPPOGold, 4},
		{"time_ratio", *r.TimeRatio, 4.0 / 30},
		{"time_ratio_with_rm", *r.TimeRatioWithRM, 4.0 / 40},
		{"ppo_seconds_to_final_gold", r.PPOSecondsToFinalGold, 10},
		{"time_ratio_to_reach", *r.TimeRatioToReach, 0.4},
		{"ppo_best_gold_reward", r.PPOBestGold, 0.7},
		{"dpo_seconds_to_ppo_best_gold", *r.DPOSecondsToPPOBest, 8},
		{"time_ratio_best", *r.TimeRatioBest, 0.8},
		{"memory_ratio", *r.MemoryRatio, 1.0 / 3},
	}
	for _, c := range checks {
		if !near(c.got, c.want, 1e-12) {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
	if !*r.TimeTarget || !*r.MemTarget {
		t.Errorf("targets: time %v memory %v, want both met", *r.TimeTarget, *r.MemTarget)
	}
	dpo.Curve = []BenchPoint{{2, 0.5}}
	r = CompareBench(PolicyEval{}, 100, rlhf, dpo, nil, false)
	if r.DPOSecondsToPPOGold != nil || r.TimeRatio != nil || *r.TimeTarget {
		t.Errorf("DPO never reached PPO's gold, yet time_ratio %v, target met %v", r.TimeRatio, *r.TimeTarget)
	}
	r = CompareBench(PolicyEval{}, 100, rlhf, BenchPhase{}, errors.New("boom"), false)
	if r.DPOStatus != "blocked: boom" || r.DPOSeconds != nil {
		t.Errorf("a failed DPO phase gives status %q and seconds %v", r.DPOStatus, r.DPOSeconds)
	}
}
