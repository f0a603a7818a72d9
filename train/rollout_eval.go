// Evaluating a policy on fresh samples: its mean reward under any scorer
// (for the lab, the gold reward) and its KL to a reference.

package train

import (
	"fmt"

	"github.com/alignlab/alignlab/model"
)

// PolicyEval is a policy's figures on one batch of fresh samples.
type PolicyEval struct {
	// Reward is the scorer's mean over the completions.
	Reward float64 `json:"reward"`
	// KL is the mean over completions of Σ_t log π − log π_ref over the
	// sampled tokens: a Monte Carlo estimate of KL(π‖π_ref) per sequence
	// (0 when no reference was given).
	KL float64 `json:"kl"`
	// MeanLength is the mean completion length in tokens.
	MeanLength float64 `json:"mean_length"`
}

// EvaluatePolicy samples one completion per prompt from policy (temperature
// 1, the streams fixed by seed) and returns the scorer's mean and, when
// ref is not nil, the KL to ref.
func EvaluatePolicy(policy, ref *model.Model, scorer Scorer, prompts [][]int32, cfg RolloutConfig, seed int64) (PolicyEval, error) {
	var ev PolicyEval
	if err := cfg.validate(); err != nil {
		return ev, fmt.Errorf("evaluate policy: %w", err)
	}
	r, err := sampleRollout(policy, ref, scorer, prompts, cfg, seed)
	if err != nil {
		return ev, fmt.Errorf("evaluate policy: %w", err)
	}
	for b := range r.B {
		ev.Reward += r.Scores[b]
		ev.MeanLength += float64(r.Len(b))
		if ref == nil {
			continue
		}
		for j := range r.Len(b) {
			g := r.Tok(b, j)
			ev.KL += float64(r.LogProbs[g] - r.RefLogProbs[g])
		}
	}
	n := float64(r.B)
	ev.Reward, ev.KL, ev.MeanLength = ev.Reward/n, ev.KL/n, ev.MeanLength/n
	return ev, nil
}
