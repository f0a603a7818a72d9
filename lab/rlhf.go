package lab

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/alignlab/alignlab/internal/procstat"
	"github.com/alignlab/alignlab/train"
)

// RLHF for the lab's policies: on-policy sampling, a reward function (a
// reward model, or any Go function), a KL penalty to the reference in the
// reward, and the REINFORCE leave-one-out estimator (RLOO, Ahmadian et
// al. 2024): K replies per prompt, each reply's advantage its penalised
// reward minus the mean of the other K-1. One gradient step per batch of
// fresh samples, so PPO's ratio clipping would be inactive and is left out;
// no value network is needed.

// RewardFunc scores replies to prompts (higher is better).
type RewardFunc func(ps []Prompt, replies []string) ([]float64, error)

// RLHFConfig configures an RLHF run.
type RLHFConfig struct {
	KLCoef  float64 `json:"kl_coef" yaml:"kl_coef"` // β: reward - β·(log π - log π_ref)
	LR      float32 `json:"lr" yaml:"lr"`
	Steps   int     `json:"steps" yaml:"steps"`
	Prompts int     `json:"prompts" yaml:"prompts"` // prompts per step
	K       int     `json:"k" yaml:"k"`             // samples per prompt (>= 2)
	// Checkpoints is how many evenly spaced snapshots to keep.
	Checkpoints int    `json:"checkpoints" yaml:"checkpoints"`
	Seed        uint64 `json:"seed" yaml:"seed"`
}

// RLPoint is one step's metrics, in the layout audit's metric-log reader
// takes ({"step", "kl", "proxy", "gold"}).
type RLPoint struct {
	Step  int     `json:"step"`
	KL    float64 `json:"kl"`
	Proxy float64 `json:"proxy"`
	Gold  float64 `json:"gold"`
}

// TrainRLHF optimises pol on prompts against reward, penalised by KL to
// ref. Gold reward is measured on every sample for the metric log but
// never used for training.
func TrainRLHF(pol, ref *Policy, reward RewardFunc, prompts []Prompt, cfg RLHFConfig, progress func(string)) (*TrainLog, []RLPoint, error) {
	if len(prompts) == 0 || cfg.Steps <= 0 || cfg.Prompts <= 0 || cfg.K < 2 {
		return nil, nil, fmt.Errorf("rlhf: need prompts, steps, prompts per step and k >= 2 (got %d, %d, %d, %d)", len(prompts), cfg.Steps, cfg.Prompts, cfg.K)
	}
	start, cpu := time.Now(), procstat.CPUTime()
	mem := startHeapWatch()
	// A private copy of the reference, so that its buffers count in this
	// run's memory, as they would for a run on its own.
	ref, err := ref.Clone()
	if err != nil {
		return nil, nil, err
	}
	m := pol.Model
	acfg := train.DefaultAdamWConfig()
	acfg.LR, acfg.Beta2, acfg.WeightDecay = cfg.LR, 0.95, 0
	opt := train.NewAdamWForParams(m.Params, acfg)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x71f))
	lg := &TrainLog{Method: "rlhf", Steps: cfg.Steps}
	var points []RLPoint
	snap := checkpointSteps(cfg.Steps, max(cfg.Checkpoints, 2))
	order, pos := rng.Perm(len(prompts)), 0
	N := cfg.Prompts * cfg.K
	batch := make([]Prompt, N)
	seqs := make([]encodedReply, N)
	var tokens, targets []int32
	var weights, mask []float32
	for step := 0; step < cfg.Steps; step++ {
		if snap[step] {
			lg.Series = append(lg.Series, Checkpoint{Step: step, Weights: pol.Weights()})
		}
		for i := 0; i < cfg.Prompts; i++ {
			if pos == len(order) {
				order, pos = rng.Perm(len(prompts)), 0
			}
			for k := 0; k < cfg.K; k++ {
				batch[i*cfg.K+k] = prompts[order[pos]]
			}
			pos++
		}
		samples, err := pol.Generate(batch, 1, int64(cfg.Seed)*1_000_003+int64(step)*int64(N))
		if err != nil {
			return nil, nil, fmt.Errorf("rlhf step %d: %w", step, err)
		}
		ptoks, err := pol.PromptTokens(batch)
		if err != nil {
			return nil, nil, fmt.Errorf("rlhf step %d: %w", step, err)
		}
		replies := make([]string, N)
		for i, s := range samples {
			replies[i] = s.Reply
			ids := append(append([]int32(nil), ptoks[i]...), s.Tokens...)
			t := make([]bool, len(ids))
			for j := len(ptoks[i]); j < len(ids); j++ {
				t[j] = true
			}
			seqs[i] = encodedReply{ids: ids, target: t}
		}
		refLP, err := seqLogProbs(ref, seqs, 128)
		if err != nil {
			return nil, nil, fmt.Errorf("rlhf step %d reference: %w", step, err)
		}
		rw, err := reward(batch, replies)
		if err != nil {
			return nil, nil, fmt.Errorf("rlhf step %d reward: %w", step, err)
		}
		pen := make([]float64, N)
		var pt RLPoint
		pt.Step = step
		for i := range samples {
			kl := float64(samples[i].LogProb - refLP[i])
			pen[i] = rw[i] - cfg.KLCoef*kl
			pt.KL += kl / float64(N)
			pt.Proxy += rw[i] / float64(N)
			pt.Gold += GoldReward(&batch[i], replies[i]) / float64(N)
		}
		points = append(points, pt)
		// Leave-one-out advantages, then a weighted next-token loss whose
		// gradient is -Σ A·∇log π(y) / N.
		var T int
		tokens, mask, T = packReplies(seqs, tokens, mask)
		if cap(targets) < len(tokens) {
			targets, weights = make([]int32, len(tokens)), make([]float32, len(tokens))
		}
		targets, weights = targets[:len(tokens)], weights[:len(tokens)]
		clear(targets)
		clear(weights)
		for i := 0; i < cfg.Prompts; i++ {
			sum := 0.0
			for k := 0; k < cfg.K; k++ {
				sum += pen[i*cfg.K+k]
			}
			for k := 0; k < cfg.K; k++ {
				j := i*cfg.K + k
				adv := pen[j] - (sum-pen[j])/float64(cfg.K-1)
				row := j * T
				for t := 0; t+1 < T; t++ {
					if mask[row+t+1] != 0 {
						targets[row+t] = tokens[row+t+1]
						weights[row+t] = float32(adv / float64(N))
					}
				}
			}
		}
		m.ZeroGrad()
		loss, err := m.WeightedLoss(tokens, targets, weights, N, T)
		if err != nil {
			return nil, nil, fmt.Errorf("rlhf step %d: %w", step, err)
		}
		if err := m.Backward(); err != nil {
			return nil, nil, fmt.Errorf("rlhf step %d: %w", step, err)
		}
		norm := train.ClipGradNorm(m.Grads.Data, 1)
		if math.IsNaN(float64(norm)) || math.IsInf(float64(norm), 0) {
			return nil, nil, fmt.Errorf("rlhf step %d: gradient norm is %v; lower the learning rate", step, norm)
		}
		opt.Step(m.Params.Data, m.Grads.Data, train.CosineSchedule(step, min(5, cfg.Steps/10), cfg.Steps, cfg.LR, cfg.LR/10))
		if step%10 == 1 {
			mem.sample()
		}
		lg.Losses = append(lg.Losses, loss)
		if progress != nil && (step%10 == 0 || step == cfg.Steps-1) {
			progress(fmt.Sprintf("rlhf step %d/%d reward %.3f gold %.3f kl %.3f", step+1, cfg.Steps, pt.Proxy, pt.Gold, pt.KL))
		}
	}
	lg.Series = append(lg.Series, Checkpoint{Step: cfg.Steps, Weights: pol.Weights()})
	lg.FinalLoss = lg.Losses[len(lg.Losses)-1]
	lg.Seconds = time.Since(start).Seconds()
	lg.CPUSeconds = (procstat.CPUTime() - cpu).Seconds()
	lg.PeakHeapMiB = mem.stop()
	return lg, points, nil
}
