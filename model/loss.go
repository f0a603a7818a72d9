// Losses over the fused head: the masked mean cross-entropy that training
// minimises, a weighted sum for objectives that weight tokens themselves,
// and per-sequence log-probabilities (DPO and friends) with their gradient.

package model

import (
	"errors"
	"fmt"
	"math"
)

// Loss runs the forward pass and returns the mean cross-entropy of
// predicting targets[i] at position i, over the positions where mask[i] !=
// 0 (mask nil means every position). Mask values act as weights: the loss
// is Σ mask·CE / Σ mask, so a 0/1 mask gives the plain masked mean, and a
// position with mask 0 contributes nothing to the loss or its gradient (its
// target is not read, so -100 style padding is fine). It keeps what
// Backward needs. The logits are not materialised beyond one chunk of rows.
func (m *Model) Loss(tokens, targets []int32, mask []float32, B, T int) (float32, error) {
	return m.LossWithHooks(tokens, targets, mask, B, T, nil)
}

// LossWithHooks is Loss with hook callbacks on the forward pass (see Hooks
// for what Backward then differentiates).
func (m *Model) LossWithHooks(tokens, targets []int32, mask []float32, B, T int, hooks *Hooks) (float32, error) {
	return m.loss(tokens, targets, mask, B, T, hooks, true)
}

// WeightedLoss runs the forward pass and returns Σ_i weights[i]·CE_i, the
// unnormalised weighted sum of cross-entropies (weights may be negative; a
// zero weight skips the position and its target). Backward then gives its
// gradient. Use it for objectives that weight tokens themselves, such as a
// policy gradient or a loss summed over sequences.
func (m *Model) WeightedLoss(tokens, targets []int32, weights []float32, B, T int) (float32, error) {
	if weights == nil {
		return 0, errors.New("model: WeightedLoss needs weights")
	}
	return m.loss(tokens, targets, weights, B, T, nil, false)
}

// loss validates, runs forward and the fused head, and arms Backward.
// normalise divides the weights by their sum (Loss's mean).
func (m *Model) loss(tokens, targets []int32, mask []float32, B, T int, hooks *Hooks, normalise bool) (float32, error) {
	if err := m.checkTargets(targets, mask, B, T, normalise); err != nil {
		return 0, err
	}
	w, err := m.forward(tokens, B, T, hooks)
	if err != nil {
		return 0, err
	}
	copy(w.targets, targets)
	scale := 1.0
	if normalise {
		var sum float64
		for i := range w.rowW {
			if mask == nil {
				sum++
			} else {
				sum += float64(mask[i])
			}
		}
		scale = 1 / sum
	}
	// In float64: 1/Σmask overflows float32 when the weights are tiny.
	for i := range w.rowW {
		if mask == nil {
			w.rowW[i] = float32(scale)
		} else {
			w.rowW[i] = float32(float64(mask[i]) * scale)
		}
	}
	m.headForward(w)
	var total float64
	for i, l := range w.rowLoss {
		total += float64(w.rowW[i]) * float64(l)
	}
	w.pending = pendingLoss
	return float32(total), nil
}

// checkTargets reports bad targets or mask values before any work is done.
func (m *Model) checkTargets(targets []int32, mask []float32, B, T int, positive bool) error {
	n, V := B*T, m.Config.VocabSize
	if B < 1 || T < 1 {
		return fmt.Errorf("model: batch %d by sequence length %d: both must be positive", B, T)
	}
	if len(targets) != n {
		return fmt.Errorf("model: got %d targets, want B·T = %d", len(targets), n)
	}
	if mask != nil && len(mask) != n {
		return fmt.Errorf("model: got %d mask values, want B·T = %d", len(mask), n)
	}
	any := false
	for i, t := range targets {
		w := float32(1)
		if mask != nil {
			w = mask[i]
		}
		switch {
		case math.IsNaN(float64(w)) || math.IsInf(float64(w), 0):
			return fmt.Errorf("model: mask value %g at index %d is not finite", w, i)
		case positive && w < 0:
			return fmt.Errorf("model: mask value %g at index %d is negative; Loss takes 0/1 or non-negative weights", w, i)
		case w == 0:
			continue
		}
		any = true
		if t < 0 || int(t) >= V {
			return fmt.Errorf("model: target id %d at index %d is outside the vocabulary [0, %d); set its mask to 0 to ignore it", t, i, V)
		}
	}
	if positive && !any {
		return errors.New("model: the mask is all zeros, so there is no position to average the loss over")
	}
	return nil
}

// SequenceLogProbs returns, for each sequence b, the sum over t of
// log p(tokens[b,t] | tokens[b,:t]) at the positions t >= 1 where mask[b,t]
// != 0 (mask marks target positions; nil means all; mask[b,0] is ignored,
// as nothing predicts the first token). A sequence with no target scores 0.
// The result is a new slice. BackwardSequenceLogProbs can follow.
func (m *Model) SequenceLogProbs(tokens []int32, mask []float32, B, T int) ([]float32, error) {
	if mask != nil && len(mask) != B*T {
		return nil, fmt.Errorf("model: got %d mask values, want B·T = %d", len(mask), B*T)
	}
	w, err := m.forward(tokens, B, T, nil)
	if err != nil {
		return nil, err
	}
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			i := b*T + t
			w.rowW[i], w.targets[i] = 0, 0
			if t+1 < T && (mask == nil || mask[i+1] != 0) {
				w.rowW[i], w.targets[i] = 1, tokens[i+1]
			}
		}
	}
	m.headForward(w)
	out := make([]float32, B)
	for b := range out {
		var s float64
		for _, l := range w.rowLoss[b*T : (b+1)*T] {
			s -= float64(l)
		}
		out[b] = float32(s)
	}
	w.pending = pendingLogProb
	return out, nil
}

// BackwardSequenceLogProbs adds to m.Grads the gradient of Σ_b coef[b]·
// logp[b], where logp is what the last SequenceLogProbs returned: for DPO,
// coef[b] is ∂loss/∂logp[b] from the sequence-level loss. One call per
// SequenceLogProbs.
func (m *Model) BackwardSequenceLogProbs(coef []float32) error {
	w := m.acts
	if w == nil || w.pending != pendingLogProb {
		return errors.New("model: BackwardSequenceLogProbs needs a SequenceLogProbs first (and one backward per call)")
	}
	if len(coef) != w.B {
		return fmt.Errorf("model: got %d coefficients, want one per sequence (%d)", len(coef), w.B)
	}
	for b, c := range coef {
		if math.IsNaN(float64(c)) || math.IsInf(float64(c), 0) {
			return fmt.Errorf("model: coefficient %g for sequence %d is not finite", c, b)
		}
		// logp = −Σ CE, so its gradient is CE's with weight −coef.
		row := w.rowW[b*w.T : (b+1)*w.T]
		for t := range row {
			row[t] *= -c
		}
	}
	m.backward(w)
	return nil
}
