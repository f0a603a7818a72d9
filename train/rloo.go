// RLOO (REINFORCE Leave-One-Out, Ahmadian et al. 2024) as TRL's
// RLOOTrainer: k completions per prompt, each completion's advantage its
// KL-penalised reward minus the mean of the other k−1 completions' rewards,
// then clipped policy-gradient epochs as in PPO. No value model.

package train

import (
	"fmt"

	"github.com/alignlab/alignlab/model"
)

// RLOOConfig holds RLOO's options under TRL's RLOOConfig names, which
// extend transformers' TrainingArguments. The batch (completions per step)
// is PerDeviceTrainBatchSize × GradientAccumulationSteps × NumMiniBatches
// and must be a multiple of RLOOK.
type RLOOConfig struct {
	TrainingArgs
	RolloutConfig
	NumMiniBatches int `json:"num_mini_batches"`
	// TotalEpisodes is the completions to train on in all (0:
	// NumTrainEpochs passes, each RLOOK completions per prompt).
	TotalEpisodes int `json:"total_episodes"`
	NumPPOEpochs  int `json:"num_ppo_epochs"`
	// RLOOK is the completions sampled per prompt (k >= 2).
	RLOOK int `json:"rloo_k"`
	// KLCoef weights the KL penalty on each completion's reward: the k1
	// estimate summed over its tokens.
	KLCoef    float64 `json:"kl_coef"`
	Cliprange float64 `json:"cliprange"`
	// NormalizeReward standardises scores over the batch (clipped to ±10).
	NormalizeReward bool `json:"normalize_reward"`
	// NormalizeAdvantage standardises advantages over the batch.
	NormalizeAdvantage bool `json:"normalize_advantage"`
}

// DefaultRLOOConfig returns TRL's RLOOConfig defaults: rloo_k 2, kl_coef
// 0.05, cliprange 0.2, 4 PPO epochs, learning rate 3e-6, responses of up
// to 53 tokens, and transformers' TrainingArguments otherwise (micro-batch
// 8, gradient norm clipped at 1, linear decay).
func DefaultRLOOConfig() RLOOConfig {
	c := RLOOConfig{
		TrainingArgs:   DefaultTrainingArgs(),
		RolloutConfig:  RolloutConfig{ResponseLength: 53, LocalRolloutForwardBatchSize: 64},
		NumMiniBatches: 1, NumPPOEpochs: 4, RLOOK: 2, KLCoef: 0.05, Cliprange: 0.2,
	}
	c.LearningRate = 3e-6
	return c
}

// BatchSize is the completions per step.
func (c RLOOConfig) BatchSize() int {
	return c.PerDeviceTrainBatchSize * c.GradientAccumulationSteps * c.NumMiniBatches
}

// RLOOTrainer runs RLOO on a policy.
type RLOOTrainer struct {
	Config RLOOConfig
	run    *groupRun
}

// NewRLOOTrainer prepares RLOO of policy against scorer on prompts, with
// ref the frozen reference for the KL penalty.
func NewRLOOTrainer(policy, ref *model.Model, scorer Scorer, prompts [][]int32, cfg RLOOConfig) (*RLOOTrainer, error) {
	switch {
	case ref == nil:
		return nil, fmt.Errorf("rloo: needs a reference model (see CloneModel)")
	case cfg.KLCoef < 0:
		return nil, fmt.Errorf("rloo: kl_coef must be >= 0, got %g", cfg.KLCoef)
	case !(cfg.Cliprange > 0):
		return nil, fmt.Errorf("rloo: cliprange must be positive, got %g", cfg.Cliprange)
	}
	run, err := newGroupRun(policy, ref, scorer, prompts, cfg.TrainingArgs, cfg.RolloutConfig, groupOptions{
		k: cfg.RLOOK, batch: cfg.BatchSize(), miniBatches: cfg.NumMiniBatches,
		epochs: cfg.NumPPOEpochs, totalEpisodes: cfg.TotalEpisodes,
	})
	if err != nil {
		return nil, fmt.Errorf("rloo: %w", err)
	}
	run.loss = pgLoss{cliprange: cfg.Cliprange}
	return &RLOOTrainer{Config: cfg, run: run}, nil
}

// NumSteps is the number of steps TotalEpisodes takes.
func (t *RLOOTrainer) NumSteps() int { return t.run.totalSteps }

// Step is the number of steps taken.
func (t *RLOOTrainer) Step() int { return t.run.step }

// Train runs TrainStep until TotalEpisodes, calling log (may be nil) after
// each step.
func (t *RLOOTrainer) Train(log func(step int, m Metrics)) error {
	for t.run.step < t.run.totalSteps {
		m, err := t.TrainStep()
		if err != nil {
			return err
		}
		if log != nil {
			log(t.run.step, m)
		}
	}
	return nil
}

// TrainStep samples one batch and updates the policy on it.
func (t *RLOOTrainer) TrainStep() (Metrics, error) {
	g, cfg := t.run, t.Config
	r, err := g.sample()
	if err != nil {
		return nil, fmt.Errorf("rloo step %d: %w", g.step, err)
	}
	m := Metrics{}
	rolloutMetrics(m, r)
	scores := append([]float64(nil), r.Scores...)
	if cfg.NormalizeReward {
		Whiten(scores, true)
		for i, s := range scores {
			scores[i] = min(max(s, -10), 10)
		}
	}
	rlhf, nonScore := make([]float64, r.B), 0.0
	for b := range r.B {
		var kl float64
		for j := range r.Len(b) {
			kl += float64(r.LogProbs[r.Tok(b, j)] - r.RefLogProbs[r.Tok(b, j)])
		}
		rlhf[b] = scores[b] - cfg.KLCoef*kl
		nonScore -= cfg.KLCoef * kl
	}
	adv := RLOOAdvantages(rlhf, cfg.RLOOK)
	if cfg.NormalizeAdvantage {
		Whiten(adv, true)
	}
	m["objective/non_score_reward"] = nonScore / float64(r.B)
	m["objective/rlhf_reward"] = mean(rlhf)
	if err := g.update(r, adv, m); err != nil {
		return nil, fmt.Errorf("rloo step %d: %w", g.step, err)
	}
	return m, nil
}

// RLOOAdvantages returns, for rewards in groups of k consecutive values,
// each reward minus the mean of the other k−1 in its group.
func RLOOAdvantages(rewards []float64, k int) []float64 {
	adv := make([]float64, len(rewards))
	for g := 0; g+k <= len(rewards); g += k {
		var s float64
		for _, v := range rewards[g : g+k] {
			s += v
		}
		for i := g; i < g+k; i++ {
			adv[i] = rewards[i] - (s-rewards[i])/float64(k-1)
		}
	}
	return adv
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
