// GRPO (Group Relative Policy Optimization, Shao et al. 2024) as TRL's
// GRPOTrainer: num_generations completions per prompt, each advantage the
// completion's reward standardised within its group, a clipped surrogate
// per token plus beta times the k3 estimate of the KL to the reference.
// No value model, and the KL sits in the loss rather than in the reward.

package train

import (
	"fmt"

	"github.com/alignlab/alignlab/model"
)

// GRPOConfig holds GRPO's options under TRL's GRPOConfig names, which
// extend transformers' TrainingArguments. Each step samples
// PerDeviceTrainBatchSize × GradientAccumulationSteps completions (a
// multiple of NumGenerations) and takes NumIterations optimiser steps on
// them.
type GRPOConfig struct {
	TrainingArgs
	// MaxCompletionLength is the most tokens sampled per completion;
	// the rest of RolloutConfig applies as for PPO.
	MaxCompletionLength int     `json:"max_completion_length"`
	StopTokenIDs        []int32 `json:"stop_token_ids,omitempty"`
	MissingEOSPenalty   float64 `json:"missing_eos_penalty,omitempty"`
	// LocalRolloutForwardBatchSize bounds the sequences per reference pass.
	LocalRolloutForwardBatchSize int `json:"local_rollout_forward_batch_size"`
	// TotalEpisodes is the completions to train on in all (0:
	// NumTrainEpochs passes, each NumGenerations completions per prompt).
	TotalEpisodes  int `json:"total_episodes"`
	NumGenerations int `json:"num_generations"`
	// NumIterations is μ: optimiser steps per sampled batch.
	NumIterations int `json:"num_iterations"`
	// Beta weights the per-token KL (k3) to the reference; 0 drops the
	// term and the reference.
	Beta float64 `json:"beta"`
	// Epsilon is the clip range of the ratio.
	Epsilon float64 `json:"epsilon"`
	// ScaleRewards divides each group's centred rewards by their standard
	// deviation (+1e-4); false keeps only the centring (Dr. GRPO).
	ScaleRewards bool `json:"scale_rewards"`
	// LossType is "grpo" (per-sequence token means), "bnpo" or "dapo"
	// (token mean over the batch; the same in one process) or "dr_grpo"
	// (token sum over sequences × max_completion_length).
	LossType string `json:"loss_type"`
}

// DefaultGRPOConfig returns TRL's GRPOConfig defaults: learning rate 1e-6,
// 8 generations per prompt, completions of up to 256 tokens, one
// iteration, epsilon 0.2, scaled rewards, loss type "bnpo", and
// transformers' TrainingArguments otherwise (micro-batch 8, gradient norm
// clipped at 1, linear decay); beta 0.04 (the paper's and TRL's original
// default; recent TRL uses 0, i.e. no reference).
func DefaultGRPOConfig() GRPOConfig {
	c := GRPOConfig{
		TrainingArgs:        DefaultTrainingArgs(),
		MaxCompletionLength: 256, LocalRolloutForwardBatchSize: 64, NumGenerations: 8, NumIterations: 1,
		Beta: 0.04, Epsilon: 0.2, ScaleRewards: true, LossType: "bnpo",
	}
	c.LearningRate = 1e-6
	return c
}

// BatchSize is the completions per step.
func (c GRPOConfig) BatchSize() int { return c.PerDeviceTrainBatchSize * c.GradientAccumulationSteps }

// GRPOTrainer runs GRPO on a policy.
type GRPOTrainer struct {
	Config GRPOConfig
	run    *groupRun
}

// NewGRPOTrainer prepares GRPO of policy against scorer on prompts. ref is
// the frozen reference, needed when Beta > 0 (nil otherwise).
func NewGRPOTrainer(policy, ref *model.Model, scorer Scorer, prompts [][]int32, cfg GRPOConfig) (*GRPOTrainer, error) {
	norm := normTokens
	switch cfg.LossType {
	case "grpo":
		norm = normSequences
	case "bnpo", "dapo", "":
	case "dr_grpo":
		norm = normFixed
	default:
		return nil, fmt.Errorf("grpo: loss_type %q is not grpo, bnpo, dapo or dr_grpo", cfg.LossType)
	}
	switch {
	case cfg.Beta < 0:
		return nil, fmt.Errorf("grpo: beta must be >= 0, got %g", cfg.Beta)
	case cfg.Beta > 0 && ref == nil:
		return nil, fmt.Errorf("grpo: beta %g needs a reference model (see CloneModel), or set beta 0", cfg.Beta)
	case !(cfg.Epsilon > 0):
		return nil, fmt.Errorf("grpo: epsilon must be positive, got %g", cfg.Epsilon)
	}
	if cfg.Beta == 0 {
		ref = nil // not needed: skip its forward passes
	}
	rc := RolloutConfig{
		ResponseLength: cfg.MaxCompletionLength, StopTokenIDs: cfg.StopTokenIDs,
		MissingEOSPenalty: cfg.MissingEOSPenalty, LocalRolloutForwardBatchSize: cfg.LocalRolloutForwardBatchSize,
	}
	run, err := newGroupRun(policy, ref, scorer, prompts, cfg.TrainingArgs, rc, groupOptions{
		k: cfg.NumGenerations, batch: cfg.BatchSize(), miniBatches: 1,
		epochs: cfg.NumIterations, totalEpisodes: cfg.TotalEpisodes,
	})
	if err != nil {
		return nil, fmt.Errorf("grpo: %w", err)
	}
	run.loss = pgLoss{cliprange: cfg.Epsilon, beta: cfg.Beta, kl: KLk3}
	run.norm = norm
	return &GRPOTrainer{Config: cfg, run: run}, nil
}

// NumSteps is the number of steps TotalEpisodes takes.
func (t *GRPOTrainer) NumSteps() int { return t.run.totalSteps }

// Step is the number of steps taken.
func (t *GRPOTrainer) Step() int { return t.run.step }

// Train runs TrainStep until TotalEpisodes, calling log (may be nil) after
// each step.
func (t *GRPOTrainer) Train(log func(step int, m Metrics)) error {
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

// TrainStep samples one batch and takes NumIterations steps on it.
func (t *GRPOTrainer) TrainStep() (Metrics, error) {
	g := t.run
	r, err := g.sample()
	if err != nil {
		return nil, fmt.Errorf("grpo step %d: %w", g.step, err)
	}
	m := Metrics{}
	rolloutMetrics(m, r)
	adv := GRPOAdvantages(r.Scores, t.Config.NumGenerations, t.Config.ScaleRewards)
	_, std := groupStats(r.Scores, t.Config.NumGenerations)
	m["reward"] = m["objective/scores"]
	m["reward_std"] = mean(std)
	m["completion_length"] = m["completions/mean_length"]
	if err := g.update(r, adv, m); err != nil {
		return nil, fmt.Errorf("grpo step %d: %w", g.step, err)
	}
	m["clip_ratio"] = m["policy/clipfrac"]
	m["entropy"] = m["policy/entropy"]
	return m, nil
}

// GRPOAdvantages returns each reward minus its group's mean (groups of k
// consecutive values), divided by the group's unbiased standard deviation
// plus 1e-4 when scale is set.
func GRPOAdvantages(rewards []float64, k int, scale bool) []float64 {
	mu, std := groupStats(rewards, k)
	adv := make([]float64, len(rewards))
	for i := range adv {
		g := i / k
		if g >= len(mu) {
			break
		}
		adv[i] = rewards[i] - mu[g]
		if scale {
			adv[i] /= std[g] + 1e-4
		}
	}
	return adv
}
