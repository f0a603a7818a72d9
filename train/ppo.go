// PPO for language models (RLHF), following TRL's PPOTrainer: sample
// completions, score them (a reward model or any Go function), penalise each
// token by its KL to the frozen reference, estimate advantages with GAE on
// a separate value model, whiten them, then take several epochs of clipped
// policy and value updates over minibatches of the rollout.

package train

import (
	"errors"
	"fmt"

	"github.com/alignlab/alignlab/model"
)

// PPOConfig holds PPO's options under TRL's PPOConfig / OnPolicyConfig
// names, which extend transformers' TrainingArguments. The rollout batch
// is PerDeviceTrainBatchSize (the micro-batch: sequences per forward and
// backward pass) × GradientAccumulationSteps × NumMiniBatches completions.
type PPOConfig struct {
	TrainingArgs
	RolloutConfig
	// NumMiniBatches splits each rollout batch into this many optimiser
	// steps per epoch.
	NumMiniBatches int `json:"num_mini_batches"`
	// TotalEpisodes is the number of completions to train on in all (0:
	// NumTrainEpochs passes over the prompts; MaxSteps, when set, counts
	// rollout batches instead).
	TotalEpisodes int `json:"total_episodes"`
	// NumPPOEpochs is the passes over each rollout batch.
	NumPPOEpochs  int  `json:"num_ppo_epochs"`
	WhitenRewards bool `json:"whiten_rewards"`
	// KLCoef weights the per-token KL penalty in the reward (the starting
	// value when AdaptiveKL is on: TRL's init_kl_coef).
	KLCoef      float64     `json:"kl_coef"`
	KLEstimator KLEstimator `json:"kl_estimator"`
	// AdaptiveKL adjusts KLCoef towards Target KL per sequence over
	// Horizon episodes (TRL's adap_kl_ctrl, target, horizon).
	AdaptiveKL     bool    `json:"adap_kl_ctrl"`
	Target         float64 `json:"target"`
	Horizon        float64 `json:"horizon"`
	Cliprange      float64 `json:"cliprange"`
	VFCoef         float64 `json:"vf_coef"`
	CliprangeValue float64 `json:"cliprange_value"`
	Gamma          float64 `json:"gamma"`
	Lam            float64 `json:"lam"`
}

// DefaultPPOConfig returns TRL's PPOConfig defaults: learning rate 3e-6,
// micro-batch 8, 1 minibatch, 4 PPO epochs, kl_coef 0.05 (k1), cliprange
// and cliprange_value 0.2, vf_coef 0.1, gamma 1, lam 0.95, responses of up
// to 53 tokens, and transformers' TrainingArguments otherwise (gradient
// norm clipped at 1, linear decay); the adaptive controller, when switched
// on, uses the classic target 6 and horizon 10000.
func DefaultPPOConfig() PPOConfig {
	c := PPOConfig{
		TrainingArgs:   DefaultTrainingArgs(),
		RolloutConfig:  RolloutConfig{ResponseLength: 53, LocalRolloutForwardBatchSize: 64},
		NumMiniBatches: 1, NumPPOEpochs: 4, KLCoef: 0.05, KLEstimator: KLk1, Target: 6, Horizon: 10000,
		Cliprange: 0.2, VFCoef: 0.1, CliprangeValue: 0.2, Gamma: 1, Lam: 0.95,
	}
	c.LearningRate = 3e-6
	return c
}

// BatchSize is the completions per rollout batch.
func (c PPOConfig) BatchSize() int {
	return c.PerDeviceTrainBatchSize * c.GradientAccumulationSteps * c.NumMiniBatches
}

func (c PPOConfig) validate() error {
	if err := c.TrainingArgs.Validate(); err != nil {
		return err
	}
	if err := c.RolloutConfig.validate(); err != nil {
		return err
	}
	if _, err := ParseKLEstimator(string(c.KLEstimator)); err != nil {
		return err
	}
	switch {
	case !(c.LearningRate > 0):
		return fmt.Errorf("learning_rate must be positive, got %g", c.LearningRate)
	case c.PerDeviceTrainBatchSize < 1 || c.GradientAccumulationSteps < 1 || c.NumMiniBatches < 1:
		return fmt.Errorf("per_device_train_batch_size, gradient_accumulation_steps and num_mini_batches must be at least 1, got %d, %d, %d",
			c.PerDeviceTrainBatchSize, c.GradientAccumulationSteps, c.NumMiniBatches)
	case c.TotalEpisodes < 0:
		return fmt.Errorf("total_episodes must be >= 0, got %d", c.TotalEpisodes)
	case c.NumPPOEpochs < 1:
		return fmt.Errorf("num_ppo_epochs must be at least 1, got %d", c.NumPPOEpochs)
	case c.KLCoef < 0:
		return fmt.Errorf("kl_coef must be >= 0, got %g", c.KLCoef)
	case c.AdaptiveKL && !(c.Target > 0 && c.Horizon > 0):
		return fmt.Errorf("adap_kl_ctrl needs a positive target and horizon, got %g and %g", c.Target, c.Horizon)
	case !(c.Cliprange > 0) || !(c.CliprangeValue > 0):
		return fmt.Errorf("cliprange and cliprange_value must be positive, got %g and %g", c.Cliprange, c.CliprangeValue)
	case c.VFCoef < 0:
		return fmt.Errorf("vf_coef must be >= 0, got %g", c.VFCoef)
	case c.Gamma < 0 || c.Gamma > 1 || c.Lam < 0 || c.Lam > 1:
		return fmt.Errorf("gamma and lam must be in [0, 1], got %g and %g", c.Gamma, c.Lam)
	}
	return nil
}

// PPOTrainer holds a PPO run: the policy being trained, the frozen
// reference, the value model, the scorer and the optimiser states.
type PPOTrainer struct {
	Policy           *model.Model
	Ref              *model.Model
	Value            *ScalarModel
	Scorer           Scorer
	Config           PPOConfig
	KL               KLController
	opt, optV, optVH *AdamW
	prompts          *promptStream
	step, episode    int
}

// Step is the number of rollout batches trained on.
func (t *PPOTrainer) Step() int { return t.step }

// Episode is the number of completions sampled.
func (t *PPOTrainer) Episode() int { return t.episode }

// NewPPOTrainer prepares PPO of policy against scorer on prompts. ref is
// the frozen reference (e.g. CloneModel of the policy before training);
// value is the value model (NewScalarModel from the reward model's
// transformer, or from the policy when the reward is a Go function).
func NewPPOTrainer(policy, ref *model.Model, value *ScalarModel, scorer Scorer, prompts [][]int32, cfg PPOConfig) (*PPOTrainer, error) {
	if cfg.KLEstimator == "" {
		cfg.KLEstimator = KLk1
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	switch {
	case policy == nil || ref == nil || value == nil || scorer == nil:
		return nil, errors.New("ppo: needs a policy, a reference, a value model and a scorer")
	case policy == ref:
		return nil, errors.New("ppo: the reference must be a separate copy of the policy (see CloneModel)")
	case len(prompts) == 0:
		return nil, errors.New("ppo: no prompts")
	case ref.Config != policy.Config:
		return nil, errors.New("ppo: the reference's config differs from the policy's")
	}
	var kl KLController = &FixedKLController{Coef: cfg.KLCoef}
	if cfg.AdaptiveKL {
		kl = &AdaptiveKLController{Coef: cfg.KLCoef, Target: cfg.Target, Horizon: cfg.Horizon}
	}
	return &PPOTrainer{
		Policy: policy, Ref: ref, Value: value, Scorer: scorer, Config: cfg, KL: kl,
		opt:     cfg.adamW(len(policy.Params.Data), NoDecaySpans(policy.Params)),
		optV:    cfg.adamW(len(value.Model.Params.Data), NoDecaySpans(value.Model.Params)),
		optVH:   cfg.adamW(len(value.Head), []Span{{len(value.Head) - 1, len(value.Head)}}),
		prompts: newPromptStream(prompts, cfg.Seed),
	}, nil
}

// NumSteps is the number of rollout batches the run takes.
func (t *PPOTrainer) NumSteps() int {
	return onPolicySteps(t.Config.TrainingArgs, t.Config.TotalEpisodes, len(t.prompts.prompts), t.Config.BatchSize())
}

// Train runs TrainStep until TotalEpisodes, calling log (may be nil) after
// each step.
func (t *PPOTrainer) Train(log func(step int, m Metrics)) error {
	for t.step < t.NumSteps() {
		m, err := t.TrainStep()
		if err != nil {
			return err
		}
		if log != nil {
			log(t.step, m)
		}
	}
	return nil
}

// TrainStep samples one rollout batch and runs NumPPOEpochs epochs of
// minibatch updates on it. It returns the step's metrics, or an error
// (weights untouched by the failing update) on a non-finite loss or
// gradient.
func (t *PPOTrainer) TrainStep() (Metrics, error) {
	cfg := t.Config
	B := cfg.BatchSize()
	fail := func(err error) (Metrics, error) { return nil, fmt.Errorf("ppo step %d: %w", t.step, err) }
	r, err := sampleRollout(t.Policy, t.Ref, t.Scorer, t.prompts.take(B), cfg.RolloutConfig, rolloutSeed(cfg.Seed, t.episode))
	if err != nil {
		return fail(err)
	}
	values, err := rolloutValues(t.Value, r, cfg.LocalRolloutForwardBatchSize)
	if err != nil {
		return fail(err)
	}
	m := Metrics{}
	rolloutMetrics(m, r)
	adv, returns, nonScore := t.advantages(r, values)
	m["objective/non_score_reward"] = nonScore
	m["objective/rlhf_reward"] = m["objective/scores"] + nonScore

	lr := cfg.LRAt(t.step, t.NumSteps())
	st := &pgStats{}
	loss := pgLoss{cliprange: cfg.Cliprange}
	mb := B / cfg.NumMiniBatches
	weight := make([]float32, r.B*r.T)
	var norm float32
	for e := range cfg.NumPPOEpochs {
		perm := minibatchOrder(cfg.Seed, t.step, e, B)
		for k := range cfg.NumMiniBatches {
			idx := perm[k*mb : (k+1)*mb]
			t.Policy.ZeroGrad()
			t.Value.ZeroGrad()
			clear(weight)
			tokenMeanWeights(r, idx, weight)
			if err := policyBackward(t.Policy, r, idx, cfg.PerDeviceTrainBatchSize, adv, weight, loss, st); err != nil {
				return fail(err)
			}
			if err := valueBackward(t.Value, r, idx, cfg.PerDeviceTrainBatchSize, values, returns, weight, cfg.CliprangeValue, cfg.VFCoef, st); err != nil {
				return fail(err)
			}
			norm = applyStep(lr, cfg.MaxGradNorm,
				stepPart{t.Policy.Params.Data, t.Policy.Grads.Data, t.opt},
				stepPart{t.Value.Model.Params.Data, t.Value.Model.Grads.Data, t.optV},
				stepPart{t.Value.Head, t.Value.HeadGrad, t.optVH})
			if bad := nonFinite(norm); bad != "" {
				return fail(fmt.Errorf("gradient norm is %s; lower the learning rate or check the reward", bad))
			}
			st.updates++
		}
	}
	updateMetrics(m, st)
	m["loss/policy"] = st.loss / st.updates
	m["loss/value"] = st.valueLoss / st.updates
	m["val/clipfrac"] = st.valueClipped / max(st.valueTokens, 1)
	m["grad_norm"] = float64(norm)
	m["lr"] = float64(lr)
	m["kl_coef"] = t.KL.Value()
	t.KL.Update(m["objective/kl"], B)
	t.step++
	t.episode += B
	m["episode"] = float64(t.episode)
	return m, nil
}

// rolloutSeed gives each rollout batch its own sampling streams: sequence
// i of the batch that starts at episode e draws from seed·2⁴⁰ + e + i.
func rolloutSeed(seed int64, episode int) int64 { return seed<<40 + int64(episode) }

// advantages turns a rollout into per-token rewards (−kl_coef·KL per
// token, plus the score at the last token), GAE advantages (whitened over
// the batch) and returns. nonScore is the mean per-sequence KL penalty.
func (t *PPOTrainer) advantages(r *Rollout, values []float32) (adv []float32, returns []float64, nonScore float64) {
	cfg := t.Config
	coef := t.KL.Value()
	n := r.B * r.T
	rewards := make([]float64, n)
	for b := range r.B {
		L := r.Len(b)
		for j := range L {
			g := r.Tok(b, j)
			rewards[g] = -coef * cfg.KLEstimator.Estimate(float64(r.LogProbs[g]), float64(r.RefLogProbs[g]))
			nonScore += rewards[g]
		}
		if L > 0 {
			rewards[r.Tok(b, L-1)] += r.Scores[b]
		}
	}
	if cfg.WhitenRewards {
		scatterWhiten(r, rewards, false)
	}
	adv64 := make([]float64, n)
	returns = make([]float64, n)
	for b := range r.B {
		L := r.Len(b)
		if L == 0 {
			continue
		}
		rw, v := make([]float64, L), make([]float64, L)
		for j := range L {
			rw[j], v[j] = rewards[r.Tok(b, j)], float64(values[r.Tok(b, j)])
		}
		a, ret := GAE(rw, v, cfg.Gamma, cfg.Lam)
		for j := range L {
			adv64[r.Tok(b, j)], returns[r.Tok(b, j)] = a[j], ret[j]
		}
	}
	scatterWhiten(r, adv64, true)
	adv = make([]float32, n)
	for i, a := range adv64 {
		adv[i] = float32(a)
	}
	return adv, returns, nonScore / float64(r.B)
}

// scatterWhiten whitens x over the completion tokens of the whole rollout.
func scatterWhiten(r *Rollout, x []float64, shiftMean bool) {
	vals := make([]float64, 0, r.NumTokens())
	for b := range r.B {
		for j := range r.Len(b) {
			vals = append(vals, x[r.Tok(b, j)])
		}
	}
	Whiten(vals, shiftMean)
	k := 0
	for b := range r.B {
		for j := range r.Len(b) {
			x[r.Tok(b, j)] = vals[k]
			k++
		}
	}
}
