// A next-token training loop: one call per batch runs Loss, Backward,
// clipping and AdamW, and refuses to update on a non-finite loss or
// gradient norm.

package train

import (
	"fmt"
	"math"

	"github.com/alignlab/alignlab/model"
)

// LMTrainer trains a model on next-token prediction with AdamW.
type LMTrainer struct {
	Model *model.Model
	Opt   *AdamW
	// MaxGradNorm clips the global gradient norm for each update, as
	// ClipGradNorm would (m.Grads keeps the unclipped values); 0 turns
	// clipping off (the norm is still measured and checked).
	MaxGradNorm float32
	// LR gives the learning rate for a step (counted from 0); nil means a
	// constant Opt.LR. Use CosineSchedule in a closure for warmup + cosine.
	LR func(step int) float32
	// Step is the number of steps taken, and so the index of the next one.
	Step int
}

// StepStats describes one training step.
type StepStats struct {
	Step     int     `json:"step"`
	Loss     float32 `json:"loss"`
	GradNorm float32 `json:"grad_norm"` // before clipping
	LR       float32 `json:"lr"`
}

// NewLMTrainer returns a trainer for m with AdamW configured by cfg; weight
// decay skips m's one-dimensional tensors unless cfg.NoDecay says otherwise.
func NewLMTrainer(m *model.Model, cfg AdamWConfig) *LMTrainer {
	return &LMTrainer{Model: m, Opt: NewAdamWForParams(m.Params, cfg)}
}

// TrainStep runs one optimisation step on a batch of B sequences of T
// tokens: tokens and targets are [B·T], mask (nil = all) weights positions
// as in model.Loss. It returns an error naming the step, and leaves the
// weights untouched, when the loss or the gradient norm is NaN or infinite.
func (t *LMTrainer) TrainStep(tokens, targets []int32, mask []float32, B, T int) (StepStats, error) {
	st := StepStats{Step: t.Step, LR: t.Opt.LR}
	if t.LR != nil {
		st.LR = t.LR(t.Step)
	}
	m := t.Model
	m.ZeroGrad()
	loss, err := m.Loss(tokens, targets, mask, B, T)
	if err != nil {
		return st, fmt.Errorf("step %d: %w", t.Step, err)
	}
	st.Loss = loss
	if bad := nonFinite(loss); bad != "" {
		return st, fmt.Errorf("step %d: loss is %s; lower the learning rate or check the data", t.Step, bad)
	}
	if err := m.Backward(); err != nil {
		return st, fmt.Errorf("step %d: %w", t.Step, err)
	}
	st.GradNorm = GradNorm(m.Grads.Data)
	if bad := nonFinite(st.GradNorm); bad != "" {
		return st, fmt.Errorf("step %d: gradient norm is %s; lower the learning rate or check the data", t.Step, bad)
	}
	// Clipping is folded into the update rather than rewriting the
	// gradients, saving a pass over them.
	scale := float32(1)
	if t.MaxGradNorm > 0 && st.GradNorm > t.MaxGradNorm {
		scale = float32(float64(t.MaxGradNorm) / (float64(st.GradNorm) + 1e-6))
	}
	t.Opt.StepScaled(m.Params.Data, m.Grads.Data, st.LR, scale)
	t.Step++
	return st, nil
}

// nonFinite names x's problem ("NaN", "+Inf", "-Inf"), or returns "".
func nonFinite(x float32) string {
	switch {
	case math.IsNaN(float64(x)):
		return "NaN"
	case math.IsInf(float64(x), 1):
		return "+Inf"
	case math.IsInf(float64(x), -1):
		return "-Inf"
	}
	return ""
}

// NextTokenBatch fills tokens and targets ([len(starts)·T] each) with
// windows of corpus: row b is corpus[s:s+T] and its targets corpus[s+1:s+T+1]
// for s = starts[b].
func NextTokenBatch(corpus []int32, starts []int, T int, tokens, targets []int32) error {
	if len(tokens) != len(starts)*T || len(targets) != len(starts)*T {
		return fmt.Errorf("train: tokens and targets need %d·%d entries, have %d and %d", len(starts), T, len(tokens), len(targets))
	}
	for b, s := range starts {
		if s < 0 || s+T+1 > len(corpus) {
			return fmt.Errorf("train: window %d at %d needs %d tokens but the corpus has %d", b, s, T+1, len(corpus))
		}
		copy(tokens[b*T:(b+1)*T], corpus[s:s+T])
		copy(targets[b*T:(b+1)*T], corpus[s+1:s+T+1])
	}
	return nil
}
