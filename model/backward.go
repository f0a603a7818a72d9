// The full-sequence backward pass: the fused head, the final norm, the
// blocks in reverse, then the embeddings, each through its layer's backward
// function. One layer's gradient scratch is reused by every block.

package model

import (
	"errors"

	"github.com/alignlab/alignlab/tensor"
)

// Backward adds the gradients of the last Loss (or WeightedLoss) to
// m.Grads, allocating Grads on first use. Call ZeroGrad between steps;
// gradients of several batches accumulate otherwise. Each Loss supports
// one Backward.
func (m *Model) Backward() error {
	w := m.acts
	if w == nil || w.pending != pendingLoss {
		return errors.New("model: Backward needs a Loss first (and one Backward per Loss)")
	}
	m.backward(w)
	return nil
}

// backward differentiates Σ_rows rowW·CE(row) through the whole model.
func (m *Model) backward(w *activations) {
	if m.Grads == nil {
		g, err := NewParams(m.Config)
		if err != nil { // the config was validated when m was made
			panic(err)
		}
		m.Grads = g
	}
	cfg, p, g := m.Config, m.Params, m.Grads
	B, T := w.B, w.T
	BT, C := B*T, cfg.Dim
	rms := cfg.Family == Llama

	m.headBackward(w) // w.dln = ∂loss/∂ln_final
	clear(w.dres)
	w.kern.norm.backward(rms, w.dres, g.FinalNormW, g.FinalNormB, w.dln, w.resid, p.FinalNormW, w.lnfMean, w.lnfRstd, w.normPartials, BT, C)
	m.trunkBackward(w)
}

// trunkBackward takes w.dres = ∂loss/∂(last block's output) back through
// the blocks and the embeddings, adding their weight gradients (and firing
// the gradient hooks of a BackwardLogits), and ends the pending pass.
func (m *Model) trunkBackward(w *activations) {
	for l := len(w.layers) - 1; l >= 0; l-- {
		m.blockBackward(w, l)
	}
	w.fireGrad(hookEmbedName, w.dres)
	if m.Config.Family == GPT2 {
		w.fireGrad(hookPosEmbedName, w.dres)
	}
	var dwpe []float32
	if m.Config.Family == GPT2 {
		dwpe = m.Grads.PosEmb
	}
	embedBackward(m.Grads.TokEmb, dwpe, w.dres, w.tokens, w.B, w.T, m.Config.Dim)
	w.pending, w.probsHeld = pendingNone, false
}

// blockBackward takes w.dres = ∂loss/∂(block l's output) and leaves
// ∂loss/∂(block l's input) there, adding the block's weight gradients.
func (m *Model) blockBackward(w *activations, l int) {
	cfg := m.Config
	lp, gp, la := &m.Params.Layers[l], &m.Grads.Layers[l], &w.layers[l]
	B, T := w.B, w.T
	BT, C, H := B*T, cfg.Dim, cfg.HiddenDim
	nH, nKV, hd := cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim()
	qd, kd := nH*hd, nKV*hd
	rms := cfg.Family == Llama
	dres := w.dres
	// Gradient hooks (BackwardLogits only; no-ops otherwise): dres is
	// ∂/∂resid_post, which is also ∂/∂mlp_out as the branch is added.
	w.fireLayerGrad(l, hookResidPost, dres, 0)
	w.fireLayerGrad(l, hookMLPOut, dres, 0)

	// MLP branch: proj, activation, fc, then norm2 (which adds into dres).
	linearBackward(w.dpost, gp.ProjW, gp.ProjB, dres, la.post, lp.ProjW, BT, H, C, false)
	w.fireLayerGrad(l, hookPost, w.dpost, 0)
	mlpActBackward(w.dpre, w.dup, w.dpost, la.pre, la.up)
	w.fireLayerGrad(l, hookPre, w.dpre, 0)
	if cfg.Gated() {
		w.fireLayerGrad(l, hookPreLinear, w.dup, 0)
	}
	if cfg.Gated() {
		linearBackward(w.dln, gp.FCW[:H*C], sub(gp.FCB, 0, H), w.dpre, la.ln2, lp.FCW[:H*C], BT, C, H, false)
		linearBackward(w.dln, gp.FCW[H*C:], sub(gp.FCB, H, 2*H), w.dup, la.ln2, lp.FCW[H*C:], BT, C, H, true)
	} else {
		linearBackward(w.dln, gp.FCW, gp.FCB, w.dpre, la.ln2, lp.FCW, BT, C, H, false)
	}
	w.fireLayerGrad(l, hookLn2, w.dln, 0)
	w.kern.norm.backward(rms, dres, gp.MLPNormW, gp.MLPNormB, w.dln, la.residMid, lp.MLPNormW, la.ln2Mean, la.ln2Rstd, w.normPartials, BT, C)
	w.fireLayerGrad(l, hookResidMid, dres, 0)
	w.fireLayerGrad(l, hookAttnOut, dres, 0)

	// Attention branch: output projection, attention, RoPE, q/k/v, norm1.
	linearBackward(w.dz, gp.AttnOutW, gp.AttnOutB, dres, la.z, lp.AttnOutW, BT, qd, C, false)
	w.fireLayerGrad(l, hookZ, w.dz, nH)
	w.kern.attn.backward(w.dq, w.dk, w.dv, w.datt, w.dz, la.q, la.k, la.v, la.att, B, T, nH, nKV, hd)
	if cfg.Family == Llama {
		w.fireLayerGrad(l, hookRotQ, w.dq, nH)
		w.fireLayerGrad(l, hookRotK, w.dk, nKV)
		ropeBackward(w.dq, w.cos, w.sin, B, T, nH, hd)
		ropeBackward(w.dk, w.cos, w.sin, B, T, nKV, hd)
	}
	w.fireLayerGrad(l, hookQ, w.dq, nH)
	w.fireLayerGrad(l, hookK, w.dk, nKV)
	w.fireLayerGrad(l, hookV, w.dv, nKV)
	linearBackward(w.dln, gp.QKVW[:qd*C], sub(gp.QKVB, 0, qd), w.dq, la.ln1, lp.QKVW[:qd*C], BT, C, qd, false)
	linearBackward(w.dln, gp.QKVW[qd*C:(qd+kd)*C], sub(gp.QKVB, qd, qd+kd), w.dk, la.ln1, lp.QKVW[qd*C:(qd+kd)*C], BT, C, kd, true)
	linearBackward(w.dln, gp.QKVW[(qd+kd)*C:], sub(gp.QKVB, qd+kd, qd+2*kd), w.dv, la.ln1, lp.QKVW[(qd+kd)*C:], BT, C, kd, true)
	w.fireLayerGrad(l, hookLn1, w.dln, 0)
	w.kern.norm.backward(rms, dres, gp.AttnNormW, gp.AttnNormB, w.dln, la.resid, lp.AttnNormW, la.ln1Mean, la.ln1Rstd, w.normPartials, BT, C)
	w.fireLayerGrad(l, hookResidPre, dres, 0)
}

// ZeroGrad sets every gradient to zero (nothing to do before the first
// Backward).
func (m *Model) ZeroGrad() {
	if m.Grads == nil {
		return
	}
	var k *clearKernel
	if m.acts != nil {
		k = &m.acts.kern.clear
	} else {
		k = &clearKernel{}
		k.bind()
	}
	k.run(m.Grads.Data)
}

// clearKernel zeroes a large buffer in parallel blocks.
type clearKernel struct {
	buf []float32
	fn  func(lo, hi int)
}

// clearBlock is the unit of parallel zeroing (256 KiB).
const clearBlock = 1 << 16

func (k *clearKernel) bind() {
	k.fn = func(lo, hi int) { clear(k.buf[lo*clearBlock : min(hi*clearBlock, len(k.buf))]) }
}

func (k *clearKernel) run(buf []float32) {
	k.buf = buf
	tensor.Parallel((len(buf)+clearBlock-1)/clearBlock, k.fn)
	k.buf = nil
}
