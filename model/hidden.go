// Passes for objectives that do not end in the fused cross-entropy head:
// the final normed hidden states with a backward from any gradient on them
// (a reward model's or a value model's scalar head), and per-token
// log-probabilities with their entropies and a backward from per-token
// coefficients (policy-gradient losses such as PPO's). They reuse the
// training forward and the layer backwards of forward.go and backward.go.

package model

import (
	"errors"
	"fmt"
	"math"
)

// pendingHidden marks a ForwardHidden that BackwardHidden may differentiate.
// It lies outside the pendingKind values of activations.go, so neither
// Backward nor BackwardSequenceLogProbs accepts it.
const pendingHidden pendingKind = 0x80

// ForwardHidden runs B sequences of T tokens through the model up to and
// including the final norm and returns its output, the hidden states
// [B·T·Dim] that the LM head would read (ln_final.hook_normalized). The
// slice is a view into model memory, valid until the next call on m; do not
// modify it. BackwardHidden can follow.
func (m *Model) ForwardHidden(tokens []int32, B, T int) ([]float32, error) {
	w, err := m.forward(tokens, B, T, nil)
	if err != nil {
		return nil, err
	}
	w.pending = pendingHidden
	return w.lnf, nil
}

// BackwardHidden adds to m.Grads the gradient of Σ dHidden·hidden, where
// hidden is what the last ForwardHidden returned: pass ∂loss/∂hidden and
// get ∂loss/∂θ accumulated (the LM head gets none, as it is not used). One
// call per ForwardHidden.
func (m *Model) BackwardHidden(dHidden []float32) error {
	w := m.acts
	if w == nil || w.pending != pendingHidden {
		return errors.New("model: BackwardHidden needs a ForwardHidden first (and one backward per call)")
	}
	BT, C := w.B*w.T, m.Config.Dim
	if len(dHidden) != BT*C {
		return fmt.Errorf("model: got %d hidden gradients, want B·T·Dim = %d", len(dHidden), BT*C)
	}
	for i, g := range dHidden {
		if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
			return fmt.Errorf("model: hidden gradient %g at index %d is not finite", g, i)
		}
	}
	m.ensureGrads()
	cfg, p, g := m.Config, m.Params, m.Grads
	// The tail of backward(), entered below the head: w.dln is ∂/∂ln_final.
	copy(w.dln, dHidden)
	clear(w.dres)
	w.kern.norm.backward(cfg.Family == Llama, w.dres, g.FinalNormW, g.FinalNormB, w.dln, w.resid, p.FinalNormW, w.lnfMean, w.lnfRstd, w.normPartials, BT, C)
	m.trunkBackward(w)
	return nil
}

// ensureGrads allocates m.Grads on first use, as backward does.
func (m *Model) ensureGrads() {
	if m.Grads != nil {
		return
	}
	g, err := NewParams(m.Config)
	if err != nil { // the config was validated when m was made
		panic(err)
	}
	m.Grads = g
}

// TokenLogProbs runs the forward pass and returns, for every position i =
// b·T+t with t >= 1 and mask[i] != 0 (mask nil = all), logp[i] = log
// p(tokens[i] | tokens[b,:t]); other entries are 0. mask marks target
// positions, as in SequenceLogProbs, whose per-sequence sums these are.
// When entropy is not nil (length B·T) it receives, at the same positions,
// the entropy of the distribution that predicted tokens[i]. The result is
// a new slice. BackwardTokenLogProbs (or BackwardSequenceLogProbs) can
// follow.
func (m *Model) TokenLogProbs(tokens []int32, mask []float32, B, T int, entropy []float32) ([]float32, error) {
	if mask != nil && len(mask) != B*T {
		return nil, fmt.Errorf("model: got %d mask values, want B·T = %d", len(mask), B*T)
	}
	if entropy != nil && len(entropy) != B*T {
		return nil, fmt.Errorf("model: got an entropy buffer of %d, want B·T = %d", len(entropy), B*T)
	}
	w, err := m.forward(tokens, B, T, nil)
	if err != nil {
		return nil, err
	}
	// Row i-1 predicts position i: it carries position i's target.
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			i := b*T + t
			w.rowW[i], w.targets[i] = 0, 0
			if t+1 < T && (mask == nil || mask[i+1] != 0) {
				w.rowW[i], w.targets[i] = 1, tokens[i+1]
			}
		}
	}
	if entropy != nil {
		clear(entropy)
	}
	// headForward, with the entropies taken in the same row pass.
	BT, V := B*T, m.Config.VocabSize
	chunk := headChunkRows(BT, V)
	w.ensureLogits(chunk * V)
	for r0 := 0; r0 < BT; r0 += chunk {
		m.headProbs(w, r0, min(chunk, BT-r0), entropy)
	}
	w.probsHeld = chunk >= BT
	out := make([]float32, BT)
	for r, l := range w.rowLoss {
		if w.rowW[r] != 0 {
			out[r+1] = -l
		}
	}
	w.pending = pendingLogProb
	return out, nil
}

// BackwardTokenLogProbs adds to m.Grads the gradient of Σ_i coef[i]·logp[i]
// (coef [B·T], indexed like the log-probs), where logp is what the last
// TokenLogProbs returned; coefficients at positions without a log-prob are
// ignored. For a policy-gradient loss, coef[i] is ∂loss/∂logp[i]. One call
// per TokenLogProbs.
func (m *Model) BackwardTokenLogProbs(coef []float32) error {
	w := m.acts
	if w == nil || w.pending != pendingLogProb {
		return errors.New("model: BackwardTokenLogProbs needs a TokenLogProbs first (and one backward per call)")
	}
	B, T := w.B, w.T
	if len(coef) != B*T {
		return fmt.Errorf("model: got %d coefficients, want B·T = %d", len(coef), B*T)
	}
	for i, c := range coef {
		if math.IsNaN(float64(c)) || math.IsInf(float64(c), 0) {
			return fmt.Errorf("model: coefficient %g at index %d is not finite", c, i)
		}
	}
	for b := 0; b < B; b++ {
		for t := 0; t+1 < T; t++ {
			r := b*T + t
			// logp = −CE, so its gradient is CE's with weight −coef.
			if w.rowW[r] != 0 {
				w.rowW[r] = -coef[r+1]
			}
		}
	}
	m.backward(w)
	return nil
}
