// Bradley-Terry reward-model training, as TRL's RewardTrainer: a scalar head
// on the last token of each sequence, trained so that the chosen sequence
// of a pair outscores the rejected one: loss = −log σ(r_c − r_r − margin),
// plus TRL's optional centering term.

package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// PreferencePair is one comparison of two complete sequences (prompt then
// completion, as token ids) of which Chosen was preferred. Margin, when not
// zero, is TRL's "margin" column: the reward gap the pair should exceed.
type PreferencePair struct {
	Chosen   []int32 `json:"input_ids_chosen"`
	Rejected []int32 `json:"input_ids_rejected"`
	Margin   float32 `json:"margin,omitempty"`
}

// RewardConfig holds the reward trainer's options under TRL's RewardConfig
// names, which extend transformers' TrainingArguments (batch size,
// learning-rate schedule, AdamW, clipping, logging and saving).
type RewardConfig struct {
	TrainingArgs
	// MaxLength drops pairs with a sequence longer than this (0 = the
	// model's max_seq_len).
	MaxLength int `json:"max_length"`
	// CenterRewardsCoefficient adds coef·mean((r_c + r_r)²), which keeps
	// rewards near zero (Eisenstein et al. 2023); 0 turns it off.
	CenterRewardsCoefficient float32 `json:"center_rewards_coefficient"`
}

// DefaultRewardConfig returns TRL's defaults, which are transformers':
// learning rate 5e-5, batch 8, 3 epochs, linear decay, gradient norm
// clipped at 1, no weight decay.
func DefaultRewardConfig() RewardConfig {
	return RewardConfig{TrainingArgs: DefaultTrainingArgs()}
}

// validate reports the first bad option.
func (c RewardConfig) validate() error {
	if err := c.TrainingArgs.Validate(); err != nil {
		return err
	}
	switch {
	case !(c.LearningRate > 0):
		return fmt.Errorf("learning_rate must be positive, got %g", c.LearningRate)
	case c.CenterRewardsCoefficient < 0:
		return fmt.Errorf("center_rewards_coefficient must be >= 0, got %g", c.CenterRewardsCoefficient)
	}
	return nil
}

// BradleyTerryLoss returns the mean over pairs of −log σ(r_c − r_r − m)
// + center·(r_c + r_r)² and its gradients with respect to each reward.
// margins may be nil (all zero).
func BradleyTerryLoss(chosen, rejected, margins []float32, center float32) (loss float64, dChosen, dRejected []float32) {
	n := len(chosen)
	dChosen, dRejected = make([]float32, n), make([]float32, n)
	for i := range chosen {
		d := float64(chosen[i]) - float64(rejected[i])
		if margins != nil {
			d -= float64(margins[i])
		}
		// −log σ(d) = softplus(−d), computed stably; its derivative is −σ(−d).
		loss += softplus(-d)
		g := -sigmoid(-d) / float64(n)
		s := float64(chosen[i]) + float64(rejected[i])
		loss += float64(center) * s * s
		c := 2 * float64(center) * s / float64(n)
		dChosen[i], dRejected[i] = float32(g+c), float32(-g+c)
	}
	return loss / float64(n), dChosen, dRejected
}

func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// RewardTrainer trains a ScalarModel on preference pairs with AdamW, in
// shuffled batches, epoch after epoch (the run loop's Stepper).
type RewardTrainer struct {
	RM     *ScalarModel
	Config RewardConfig
	// Train and Eval are the training pairs and the held-out pairs (Eval
	// may be empty).
	Train, Eval []PreferencePair
	opt         *AdamW // the transformer's
	optH        *AdamW // the head's
	step        int
	order       []int // this epoch's order, drawn from (Seed, epoch)
	orderEpoch  int
}

// RewardStats are one step's (or one evaluation's) figures, under TRL's
// metric names.
type RewardStats struct {
	Step     int     `json:"step"`
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	Margin   float64 `json:"margin"` // mean r_c − r_r
	Chosen   float64 `json:"rewards/chosen"`
	Rejected float64 `json:"rewards/rejected"`
	GradNorm float32 `json:"grad_norm"`
	LR       float32 `json:"learning_rate"`
}

// Metrics returns the figures under TRL's names.
func (s RewardStats) Metrics() Metrics {
	return Metrics{
		"loss": s.Loss, "accuracy": s.Accuracy, "margin": s.Margin,
		"rewards/chosen": s.Chosen, "rewards/rejected": s.Rejected,
		"grad_norm": float64(s.GradNorm), "learning_rate": float64(s.LR),
	}
}

// NewRewardTrainer returns a trainer for rm on train (eval held out). Pairs
// FilterPairs would drop are an error: filter (or read with
// ReadPreferencePairs) first.
func NewRewardTrainer(rm *ScalarModel, train, eval []PreferencePair, cfg RewardConfig) (*RewardTrainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("reward trainer: %w", err)
	}
	if len(train) == 0 {
		return nil, errors.New("reward trainer: no training pairs")
	}
	maxLen := cfg.MaxLength
	if maxLen <= 0 {
		maxLen = rm.Model.Config.MaxSeqLen
	}
	for name, set := range map[string][]PreferencePair{"training": train, "held-out": eval} {
		if _, dropped := FilterPairs(set, maxLen); len(dropped) > 0 {
			return nil, fmt.Errorf("reward trainer: %d unusable %s pairs, first: %s", len(dropped), name, dropped[0])
		}
	}
	return &RewardTrainer{
		RM: rm, Config: cfg, Train: train, Eval: eval, orderEpoch: -1,
		opt:  cfg.adamW(len(rm.Model.Params.Data), NoDecaySpans(rm.Model.Params)),
		optH: cfg.adamW(len(rm.Head), []Span{{len(rm.Head) - 1, len(rm.Head)}}),
	}, nil
}

// Step is the number of optimiser steps taken.
func (t *RewardTrainer) Step() int { return t.step }

// stepsPerEpoch is the optimiser steps in one pass over Train (the last
// batch may be short).
func (t *RewardTrainer) stepsPerEpoch() int {
	bs := t.Config.globalBatch()
	return (len(t.Train) + bs - 1) / bs
}

// NumSteps is the steps of NumTrainEpochs epochs (or MaxSteps).
func (t *RewardTrainer) NumSteps() int { return t.Config.totalSteps(len(t.Train)) }

// batch returns the pairs of step k: its epoch's shuffled order, cut into
// batches of per_device_train_batch_size × gradient_accumulation_steps.
func (t *RewardTrainer) batch(k int) []PreferencePair {
	per, bs := t.stepsPerEpoch(), t.Config.globalBatch()
	if e := k / per; e != t.orderEpoch {
		t.order = rand.New(rand.NewPCG(uint64(t.Config.Seed), 0xb7+uint64(e))).Perm(len(t.Train))
		t.orderEpoch = e
	}
	lo := (k % per) * bs
	idx := t.order[lo:min(lo+bs, len(t.order))]
	out := make([]PreferencePair, len(idx))
	for i, j := range idx {
		out[i] = t.Train[j]
	}
	return out
}

// pairForward scores the chosen and rejected sequences of pairs in one
// batch (chosen first), keeping the pass for the backward.
func (t *RewardTrainer) pairForward(pairs []PreferencePair) (chosen, rejected []float32, err error) {
	n := len(pairs)
	seqs := make([][]int32, 0, 2*n)
	for _, p := range pairs {
		seqs = append(seqs, p.Chosen)
	}
	for _, p := range pairs {
		seqs = append(seqs, p.Rejected)
	}
	tokens, T := padBatch(seqs)
	r, err := t.RM.forwardRows(tokens, 2*n, T, lastRows(seqs, T))
	if err != nil {
		return nil, nil, err
	}
	return r[:n], r[n:], nil
}

// TrainStep takes one optimiser step on the next batch of the training
// pairs and returns its metrics ("loss", "accuracy", "margin",
// "rewards/chosen", "rewards/rejected", "grad_norm", "learning_rate",
// "epoch").
func (t *RewardTrainer) TrainStep() (Metrics, error) {
	st, err := t.TrainBatch(t.batch(t.step))
	if err != nil {
		return nil, err
	}
	m := st.Metrics()
	m["epoch"] = float64(t.step) / float64(t.stepsPerEpoch())
	return m, nil
}

// TrainBatch takes one optimiser step on the given pairs, in micro-batches
// of per_device_train_batch_size pairs whose gradients accumulate (the
// loss is the mean over all the pairs). It refuses to update on a
// non-finite loss or gradient norm.
func (t *RewardTrainer) TrainBatch(pairs []PreferencePair) (RewardStats, error) {
	st := RewardStats{Step: t.step, LR: t.Config.LRAt(t.step, t.NumSteps())}
	if len(pairs) == 0 {
		return st, errors.New("reward trainer: empty batch")
	}
	rm := t.RM
	rm.ZeroGrad()
	n, micro := len(pairs), t.Config.PerDeviceTrainBatchSize
	chosen, rejected := make([]float32, 0, n), make([]float32, 0, n)
	for lo := 0; lo < n; lo += micro {
		part := pairs[lo:min(lo+micro, n)]
		c, r, err := t.pairForward(part)
		if err != nil {
			return st, fmt.Errorf("reward step %d: %w", t.step, err)
		}
		loss, dc, dr := BradleyTerryLoss(c, r, pairMargins(part), t.Config.CenterRewardsCoefficient)
		if bad := nonFinite(float32(loss)); bad != "" {
			return st, fmt.Errorf("reward step %d: loss is %s; lower the learning rate or check the data", t.step, bad)
		}
		st.Loss += loss * float64(len(part)) / float64(n)
		// The micro-batch's mean, reweighted into the whole batch's mean.
		w := float32(len(part)) / float32(n)
		d := append(dc, dr...)
		for i := range d {
			d[i] *= w
		}
		if err := rm.backwardRows(d); err != nil {
			return st, fmt.Errorf("reward step %d: %w", t.step, err)
		}
		chosen, rejected = append(chosen, c...), append(rejected, r...)
	}
	fillRewardStats(&st, chosen, rejected)
	st.GradNorm = applyStep(st.LR, t.Config.MaxGradNorm,
		stepPart{rm.Model.Params.Data, rm.Model.Grads.Data, t.opt},
		stepPart{rm.Head, rm.HeadGrad, t.optH})
	if bad := nonFinite(st.GradNorm); bad != "" {
		return st, fmt.Errorf("reward step %d: gradient norm is %s; lower the learning rate or check the data", t.step, bad)
	}
	t.step++
	return st, nil
}

func pairMargins(pairs []PreferencePair) []float32 {
	var m []float32
	for i, p := range pairs {
		if p.Margin != 0 && m == nil {
			m = make([]float32, len(pairs))
		}
		if m != nil {
			m[i] = p.Margin
		}
	}
	return m
}

func fillRewardStats(st *RewardStats, chosen, rejected []float32) {
	n := float64(len(chosen))
	var acc, margin, c, r float64
	for i := range chosen {
		if chosen[i] > rejected[i] {
			acc++
		}
		margin += float64(chosen[i] - rejected[i])
		c += float64(chosen[i])
		r += float64(rejected[i])
	}
	st.Accuracy, st.Margin, st.Chosen, st.Rejected = acc/n, margin/n, c/n, r/n
}

// jointNorm is the L2 norm of several gradient buffers taken together.
func jointNorm(bufs ...[]float32) float32 {
	var s float64
	for _, b := range bufs {
		n := float64(GradNorm(b))
		s += n * n
	}
	return float32(math.Sqrt(s))
}

// clipScale is the factor that brings norm down to maxNorm (1 when it is
// already below, or clipping is off), as torch's clip_grad_norm_.
func clipScale(norm, maxNorm float32) float32 {
	if maxNorm > 0 && norm > maxNorm {
		return float32(float64(maxNorm) / (float64(norm) + 1e-6))
	}
	return 1
}

// Evaluate returns the held-out figures ("loss", "accuracy", "margin",
// "rewards/chosen", "rewards/rejected"), which the run loop logs with
// TRL's "eval_" prefix; nothing when there are no held-out pairs.
func (t *RewardTrainer) Evaluate() (Metrics, error) {
	if len(t.Eval) == 0 {
		return Metrics{}, nil
	}
	st, err := EvaluateRewardModel(t.RM, t.Eval, t.Config.evalBatch())
	if err != nil {
		return nil, err
	}
	m := st.Metrics()
	delete(m, "grad_norm")
	delete(m, "learning_rate")
	return m, nil
}

// EvaluateRewardModel returns rm's Bradley-Terry loss, pair accuracy and
// margin on pairs, scoring batch pairs at a time.
func EvaluateRewardModel(rm *ScalarModel, pairs []PreferencePair, batch int) (RewardStats, error) {
	var st RewardStats
	if len(pairs) == 0 {
		return st, errors.New("evaluate reward model: no pairs")
	}
	seqsC, seqsR := make([][]int32, len(pairs)), make([][]int32, len(pairs))
	for i, p := range pairs {
		seqsC[i], seqsR[i] = p.Chosen, p.Rejected
	}
	chosen, err := rm.Rewards(seqsC, batch)
	if err != nil {
		return st, err
	}
	rejected, err := rm.Rewards(seqsR, batch)
	if err != nil {
		return st, err
	}
	st.Loss, _, _ = BradleyTerryLoss(chosen, rejected, pairMargins(pairs), 0)
	fillRewardStats(&st, chosen, rejected)
	return st, nil
}

// FilterPairs drops pairs the trainer cannot use and says why for each:
// an empty sequence, identical chosen and rejected, or a sequence longer
// than maxLen. It returns the kept pairs and one message per dropped pair
// (index-based, for the caller to map to its line numbers).
func FilterPairs(pairs []PreferencePair, maxLen int) (kept []PreferencePair, dropped []string) {
	for i, p := range pairs {
		switch {
		case len(p.Chosen) == 0 || len(p.Rejected) == 0:
			dropped = append(dropped, fmt.Sprintf("pair %d: empty sequence", i))
		case slices.Equal(p.Chosen, p.Rejected):
			dropped = append(dropped, fmt.Sprintf("pair %d: chosen equals rejected", i))
		case maxLen > 0 && (len(p.Chosen) > maxLen || len(p.Rejected) > maxLen):
			dropped = append(dropped, fmt.Sprintf("pair %d: %d/%d tokens exceed --max-length %d", i, len(p.Chosen), len(p.Rejected), maxLen))
		default:
			kept = append(kept, p)
		}
	}
	return kept, dropped
}

// TrainRewardModel trains rm on train for cfg.NumTrainEpochs epochs,
// calling log after every step (nil = no logging), and returns the final
// held-out figures on eval (only the step count when eval is empty).
func TrainRewardModel(rm *ScalarModel, train, eval []PreferencePair, cfg RewardConfig, log func(RewardStats)) (RewardStats, error) {
	t, err := NewRewardTrainer(rm, train, eval, cfg)
	if err != nil {
		return RewardStats{}, err
	}
	for t.step < t.NumSteps() {
		st, err := t.TrainBatch(t.batch(t.step))
		if err != nil {
			return st, err
		}
		if log != nil {
			log(st)
		}
	}
	if len(eval) == 0 {
		return RewardStats{Step: t.step}, nil
	}
	st, err := EvaluateRewardModel(rm, eval, cfg.evalBatch())
	st.Step = t.step
	return st, err
}
