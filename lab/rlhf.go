package lab

import (
	"fmt"
	"time"

	"github.com/alignlab/alignlab/internal/procstat"
	"github.com/alignlab/alignlab/train"
)

// RLHF for the lab's policies on the library's on-policy trainers: RLOO
// (train.RLOOTrainer, Ahmadian et al. 2024: K replies per prompt, each
// reply's advantage its KL-penalised reward minus the mean of the other
// K-1) or PPO (train.PPOTrainer: per-token KL penalty, GAE on a value
// model, clipped updates). The reward is a reward model or any Go
// function; the lab adds the gold reward of every sample to the metric log
// (never to training) and keeps the checkpoint series.

// RewardFunc scores replies to prompts (higher is better).
type RewardFunc func(ps []Prompt, replies []string) ([]float64, error)

// RLHF algorithms.
const (
	AlgoRLOO = "rloo"
	AlgoPPO  = "ppo"
)

// RLHFConfig configures an RLHF run.
type RLHFConfig struct {
	// Algorithm is rloo (the default) or ppo.
	Algorithm string  `json:"algorithm,omitempty" yaml:"algorithm"`
	KLCoef    float64 `json:"kl_coef" yaml:"kl_coef"` // β: reward - β·(log π - log π_ref)
	LR        float32 `json:"lr" yaml:"lr"`
	Steps     int     `json:"steps" yaml:"steps"`
	Prompts   int     `json:"prompts" yaml:"prompts"` // prompts per step
	K         int     `json:"k" yaml:"k"`             // samples per prompt (rloo: >= 2)
	// Epochs is PPO's passes over each rollout batch (TRL's
	// num_ppo_epochs); RLOO takes one on-policy step per batch.
	Epochs int `json:"epochs,omitempty" yaml:"epochs"`
	// Checkpoints is how many evenly spaced snapshots to keep.
	Checkpoints int    `json:"checkpoints" yaml:"checkpoints"`
	Seed        uint64 `json:"seed" yaml:"seed"`
}

// algorithm is the configured algorithm, rloo when none is named.
func (c RLHFConfig) algorithm() string {
	if c.Algorithm == "" {
		return AlgoRLOO
	}
	return c.Algorithm
}

// RLPoint is one step's metrics, in the layout audit's metric-log reader
// takes ({"step", "kl", "proxy", "gold"}).
type RLPoint struct {
	Step  int     `json:"step"`
	KL    float64 `json:"kl"`
	Proxy float64 `json:"proxy"`
	Gold  float64 `json:"gold"`
}

// rlMicroBatch is the sequences per forward and backward pass of RLHF.
const rlMicroBatch = 32

// rlTrainer is what TrainRLHF needs of train.RLOOTrainer and PPOTrainer.
type rlTrainer interface {
	TrainStep() (train.Metrics, error)
}

// TrainRLHF optimises pol on prompts against reward, penalised by KL to
// ref. Gold reward is measured on every sample for the metric log but
// never used for training.
func TrainRLHF(pol, ref *Policy, reward RewardFunc, prompts []Prompt, cfg RLHFConfig, progress func(string)) (*TrainLog, []RLPoint, error) {
	algo := cfg.algorithm()
	if len(prompts) == 0 || cfg.Steps <= 0 || cfg.Prompts <= 0 || cfg.K < 1 || (algo == AlgoRLOO && cfg.K < 2) {
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
	sc, ptoks, err := newLabScorer(pol, prompts, reward)
	if err != nil {
		return nil, nil, fmt.Errorf("rlhf: %w", err)
	}
	args := train.DefaultTrainingArgs()
	args.LearningRate, args.LRSchedulerType, args.WarmupSteps = cfg.LR, "cosine", min(5, cfg.Steps/10)
	args.AdamBeta2, args.WeightDecay, args.MaxGradNorm = 0.95, 0, 1
	// Micro-batches of at most 32 sequences, as DPO's 16 pairs: the
	// batch's activations in memory at once, not the memory a method needs.
	batch, micro := cfg.Prompts*cfg.K, rlMicroBatch
	if batch%micro != 0 {
		micro = batch
	}
	args.PerDeviceTrainBatchSize, args.GradientAccumulationSteps, args.Seed = micro, batch/micro, int64(cfg.Seed>>1)
	rc := train.RolloutConfig{ResponseLength: pol.MaxNew, StopTokenIDs: pol.Codec.StopTokens(), LocalRolloutForwardBatchSize: rlMicroBatch}
	episodes := cfg.Steps * cfg.Prompts * cfg.K
	var tr rlTrainer
	switch algo {
	case AlgoRLOO:
		c := train.DefaultRLOOConfig()
		c.TrainingArgs, c.RolloutConfig = args, rc
		c.TotalEpisodes, c.NumPPOEpochs, c.RLOOK, c.KLCoef = episodes, 1, cfg.K, cfg.KLCoef
		tr, err = train.NewRLOOTrainer(pol.Model, ref.Model, sc, ptoks, c)
	case AlgoPPO:
		c := train.DefaultPPOConfig()
		c.TrainingArgs, c.RolloutConfig = args, rc
		c.TotalEpisodes, c.NumPPOEpochs, c.KLCoef = episodes, max(cfg.Epochs, 1), cfg.KLCoef
		var value *train.ScalarModel
		if value, err = train.NewScalarModel(ref.Model, args.Seed); err == nil {
			tr, err = train.NewPPOTrainer(pol.Model, ref.Model, value, sc, ptoks, c)
		}
	default:
		return nil, nil, fmt.Errorf("rlhf: algorithm %q is not rloo or ppo", cfg.Algorithm)
	}
	if err != nil {
		return nil, nil, err
	}
	lg := &TrainLog{Method: "rlhf-" + algo, Steps: cfg.Steps}
	var points []RLPoint
	snap := checkpointSteps(cfg.Steps, max(cfg.Checkpoints, 2))
	for step := 0; step < cfg.Steps; step++ {
		if snap[step] {
			lg.Series = append(lg.Series, Checkpoint{Step: step, Weights: pol.Weights()})
		}
		m, err := tr.TrainStep()
		if err != nil {
			return nil, nil, fmt.Errorf("rlhf: %w", err)
		}
		pt := RLPoint{Step: step, KL: m["objective/kl"], Proxy: m["objective/scores"], Gold: sc.gold}
		points = append(points, pt)
		if step%10 == 1 {
			mem.sample()
		}
		lg.Losses = append(lg.Losses, float32(m["loss/policy"]))
		if progress != nil && (step%10 == 0 || step == cfg.Steps-1) {
			progress(fmt.Sprintf("rlhf (%s) step %d/%d reward %.3f gold %.3f kl %.3f", algo, step+1, cfg.Steps, pt.Proxy, pt.Gold, pt.KL))
		}
	}
	lg.Series = append(lg.Series, Checkpoint{Step: cfg.Steps, Weights: pol.Weights()})
	lg.FinalLoss = lg.Losses[len(lg.Losses)-1]
	lg.Seconds = time.Since(start).Seconds()
	lg.CPUSeconds = (procstat.CPUTime() - cpu).Seconds()
	lg.PeakHeapMiB = mem.stop()
	return lg, points, nil
}

// labScorer adapts a RewardFunc on prompts and reply texts to the
// trainers' Scorer on token ids, and keeps the last batch's mean gold
// reward for the metric log.
type labScorer struct {
	codec  Codec
	stops  map[int32]bool
	byKey  map[string]*Prompt
	reward RewardFunc
	gold   float64
}

// newLabScorer returns the scorer and the prompts' token ids. Prompts with
// the same tokens are the same question, so one stands for all.
func newLabScorer(pol *Policy, prompts []Prompt, reward RewardFunc) (*labScorer, [][]int32, error) {
	ptoks, err := pol.PromptTokens(prompts)
	if err != nil {
		return nil, nil, err
	}
	s := &labScorer{codec: pol.Codec, stops: map[int32]bool{}, byKey: map[string]*Prompt{}, reward: reward}
	for _, t := range pol.Codec.StopTokens() {
		s.stops[t] = true
	}
	for i, ids := range ptoks {
		if k := tokenKey(ids); s.byKey[k] == nil {
			s.byKey[k] = &prompts[i]
		}
	}
	return s, ptoks, nil
}

// Score decodes the completions (less their stop token) and scores them.
func (s *labScorer) Score(prompts, completions [][]int32) ([]float64, error) {
	ps, replies := make([]Prompt, len(prompts)), make([]string, len(prompts))
	for i := range prompts {
		p := s.byKey[tokenKey(prompts[i])]
		if p == nil {
			return nil, fmt.Errorf("completion %d: its prompt is not one of the run's", i)
		}
		c := completions[i]
		if n := len(c); n > 0 && s.stops[c[n-1]] {
			c = c[:n-1]
		}
		ps[i], replies[i] = *p, s.codec.Decode(c)
	}
	scores, err := s.reward(ps, replies)
	if err != nil {
		return nil, err
	}
	s.gold = 0
	for i := range ps {
		s.gold += GoldReward(&ps[i], replies[i]) / float64(len(ps))
	}
	return scores, nil
}

// tokenKey is a map key for a token sequence.
func tokenKey(ids []int32) string {
	b := make([]byte, 4*len(ids))
	for i, t := range ids {
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(t), byte(t>>8), byte(t>>16), byte(t>>24)
	}
	return string(b)
}
