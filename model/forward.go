// The full-sequence forward pass: embeddings, the blocks, the final norm and
// (for Forward) the logits, with the hook points fired in between. Each step
// calls the layer functions of its own file (embedding.go, norm.go,
// linear.go, rope.go, attention.go, mlp.go, residual.go, classifier.go).

package model

import (
	"fmt"

	"github.com/alignlab/alignlab/tensor"
)

// kernels are the workspace's parallel loop bodies, bound once.
type kernels struct {
	norm  normKernel
	attn  attnKernel
	head  headKernel
	clear clearKernel
}

func (k *kernels) bind() {
	k.norm.bind()
	k.attn.bind()
	k.head.bind()
	k.clear.bind()
}

// Forward runs B sequences of T tokens (row-major tokens [B·T]) through the
// model and returns the logits [B·T·VocabSize], a view into model memory
// valid until the next call on m. hooks may be nil, which costs nothing.
func (m *Model) Forward(tokens []int32, B, T int, hooks *Hooks) ([]float32, error) {
	w, err := m.forward(tokens, B, T, hooks)
	if err != nil {
		return nil, err
	}
	BT, C, V := B*T, m.Config.Dim, m.Config.VocabSize
	logits := w.ensureLogits(BT * V)
	tensor.Gemm(false, true, BT, V, C, 1, w.lnf, C, m.Params.LMHead, C, 0, logits, V)
	return logits, nil
}

// checkTokens reports a batch Forward cannot run.
func (m *Model) checkTokens(tokens []int32, B, T int) error {
	cfg := m.Config
	if B < 1 || T < 1 {
		return fmt.Errorf("model: batch %d by sequence length %d: both must be positive", B, T)
	}
	if T > cfg.MaxSeqLen {
		return fmt.Errorf("model: sequence length %d exceeds max_seq_len %d; truncate the input", T, cfg.MaxSeqLen)
	}
	if len(tokens) != B*T {
		return fmt.Errorf("model: got %d tokens, want B·T = %d·%d = %d", len(tokens), B, T, B*T)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= cfg.VocabSize {
			return fmt.Errorf("model: token id %d at index %d is outside the vocabulary [0, %d)", t, i, cfg.VocabSize)
		}
	}
	return nil
}

// forward validates the batch and runs everything up to ln_final, leaving
// the activations in the workspace it returns.
func (m *Model) forward(tokens []int32, B, T int, hooks *Hooks) (*activations, error) {
	if err := m.checkTokens(tokens, B, T); err != nil {
		return nil, err
	}
	if hooks != nil {
		if err := hooks.check(m.Config); err != nil {
			return nil, err
		}
	}
	cfg, p := m.Config, m.Params
	w := m.ensure(B, T)
	w.pending, w.probsHeld = pendingNone, false
	copy(w.tokens, tokens)
	BT, C := B*T, cfg.Dim

	x := w.layers[0].resid
	embedTokens(x, tokens, p.TokEmb, C)
	if hooks != nil {
		hooks.fire(hookEmbedName, x, B, T, C, 0)
	}
	if cfg.Family == GPT2 {
		if hooks != nil && hooks.wants(hookPosEmbedName) {
			clear(w.posEmb)
			addPositions(w.posEmb, p.PosEmb, B, T, C)
			hooks.fire(hookPosEmbedName, w.posEmb, B, T, C, 0)
			residualForward(x, x, w.posEmb)
		} else {
			addPositions(x, p.PosEmb, B, T, C)
		}
	}
	for l := range w.layers {
		m.blockForward(w, l, hooks)
	}
	w.kern.norm.forward(cfg.Family == Llama, w.lnf, w.lnfMean, w.lnfRstd, w.resid, p.FinalNormW, p.FinalNormB, BT, C, cfg.NormEps)
	if hooks != nil {
		hooks.fire(hookLnFinalName, w.lnf, B, T, C, 0)
	}
	return w, nil
}

// blockForward runs block l: x += attn(norm1(x)); x += mlp(norm2(x)).
func (m *Model) blockForward(w *activations, l int, hooks *Hooks) {
	cfg := m.Config
	lp, la := &m.Params.Layers[l], &w.layers[l]
	B, T := w.B, w.T
	BT, C, H := B*T, cfg.Dim, cfg.HiddenDim
	nH, nKV, hd := cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim()
	qd, kd := nH*hd, nKV*hd
	rms := cfg.Family == Llama
	out := w.resid
	if l+1 < len(w.layers) {
		out = w.layers[l+1].resid
	}
	// Without hooks, fire is a static no-op: no lookup, no allocation.
	fire := func(p hookPoint, act []float32, d0, d1, d2, d3 int) {}
	if hooks != nil {
		fire = func(p hookPoint, act []float32, d0, d1, d2, d3 int) { hooks.fireLayer(l, p, act, d0, d1, d2, d3) }
	}

	fire(hookResidPre, la.resid, B, T, C, 0)
	w.kern.norm.forward(rms, la.ln1, la.ln1Mean, la.ln1Rstd, la.resid, lp.AttnNormW, lp.AttnNormB, BT, C, cfg.NormEps)
	fire(hookLn1, la.ln1, B, T, C, 0)

	// Queries, keys and values are three products over row blocks of the
	// fused weight, so each lands in its own contiguous [B, T, heads, hd].
	linearForward(la.q, la.ln1, lp.QKVW[:qd*C], sub(lp.QKVB, 0, qd), BT, C, qd)
	linearForward(la.k, la.ln1, lp.QKVW[qd*C:(qd+kd)*C], sub(lp.QKVB, qd, qd+kd), BT, C, kd)
	linearForward(la.v, la.ln1, lp.QKVW[(qd+kd)*C:], sub(lp.QKVB, qd+kd, qd+2*kd), BT, C, kd)
	fire(hookQ, la.q, B, T, nH, hd)
	fire(hookK, la.k, B, T, nKV, hd)
	fire(hookV, la.v, B, T, nKV, hd)
	if cfg.Family == Llama {
		ropeForward(la.q, w.cos, w.sin, B, T, nH, hd)
		ropeForward(la.k, w.cos, w.sin, B, T, nKV, hd)
		fire(hookRotQ, la.q, B, T, nH, hd)
		fire(hookRotK, la.k, B, T, nKV, hd)
	}
	var afterScores, afterPattern func()
	if hooks != nil {
		if hooks.wants(hooks.names[l][hookAttnScores]) {
			afterScores = func() { fire(hookAttnScores, la.att, B, nH, T, T) }
		}
		afterPattern = func() { fire(hookPattern, la.att, B, nH, T, T) }
	}
	w.kern.attn.forward(la.z, la.att, la.q, la.k, la.v, B, T, nH, nKV, hd, afterScores, afterPattern)
	fire(hookZ, la.z, B, T, nH, hd)
	linearForward(w.branch, la.z, lp.AttnOutW, lp.AttnOutB, BT, qd, C)
	fire(hookAttnOut, w.branch, B, T, C, 0)
	residualForward(la.residMid, la.resid, w.branch)
	fire(hookResidMid, la.residMid, B, T, C, 0)

	w.kern.norm.forward(rms, la.ln2, la.ln2Mean, la.ln2Rstd, la.residMid, lp.MLPNormW, lp.MLPNormB, BT, C, cfg.NormEps)
	fire(hookLn2, la.ln2, B, T, C, 0)
	if cfg.Gated() {
		// Gate rows [0, H) and up rows [H, 2H) of the fused fc weight.
		linearForward(la.pre, la.ln2, lp.FCW[:H*C], sub(lp.FCB, 0, H), BT, C, H)
		linearForward(la.up, la.ln2, lp.FCW[H*C:], sub(lp.FCB, H, 2*H), BT, C, H)
		fire(hookPre, la.pre, B, T, H, 0)
		fire(hookPreLinear, la.up, B, T, H, 0)
	} else {
		linearForward(la.pre, la.ln2, lp.FCW, lp.FCB, BT, C, H)
		fire(hookPre, la.pre, B, T, H, 0)
	}
	mlpActForward(la.post, la.pre, la.up)
	fire(hookPost, la.post, B, T, H, 0)
	linearForward(w.branch, la.post, lp.ProjW, lp.ProjB, BT, H, C)
	fire(hookMLPOut, w.branch, B, T, C, 0)
	residualForward(out, la.residMid, w.branch)
	fire(hookResidPost, out, B, T, C, 0)
}

// sub returns b[lo:hi], or nil when b is nil (a layer without bias).
func sub(b []float32, lo, hi int) []float32 {
	if b == nil {
		return nil
	}
	return b[lo:hi]
}
