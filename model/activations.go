// Activation memory for the full-sequence passes (Forward, Loss, Backward,
// SequenceLogProbs): every buffer is a view into one allocation whose sizes
// are computed in one place (layout), laid out for a batch shape (B, T) and
// reused by every later call that fits, so a training step allocates nothing
// after the first.

package model

import "github.com/alignlab/alignlab/tensor"

// layerActs are the saved activations of one block, each [B·T, width]
// row-major unless noted. They are what backward reads and what the hooks
// see, under the TransformerLens names given.
type layerActs struct {
	resid            []float32 // [BT, C] block input: hook_resid_pre
	ln1              []float32 // [BT, C] ln1.hook_normalized
	ln1Mean, ln1Rstd []float32 // [BT] (mean unused by RMSNorm)
	q                []float32 // [BT, nH·hd] attn.hook_q, rotated in place by RoPE
	k, v             []float32 // [BT, nKV·hd] attn.hook_k, attn.hook_v
	att              []float32 // [B, nH, T, T] softmax probabilities: attn.hook_pattern
	z                []float32 // [BT, nH·hd] mixed values: attn.hook_z
	residMid         []float32 // [BT, C] hook_resid_mid
	ln2              []float32 // [BT, C] ln2.hook_normalized
	ln2Mean, ln2Rstd []float32 // [BT]
	pre              []float32 // [BT, H] fc output (the gate for SwiGLU): mlp.hook_pre
	up               []float32 // [BT, H] SwiGLU up branch: mlp.hook_pre_linear; nil for GPT-2
	post             []float32 // [BT, H] activation output: mlp.hook_post
}

// activations is the model's workspace for full-sequence passes: the saved
// forward state, one layer's worth of gradient scratch (backward walks the
// layers one at a time, so it reuses the same buffers), the classifier's
// per-row state, and the kernels whose parallel loops are bound once.
type activations struct {
	B, T int
	buf  []float32 // backing store of every float view below except logits

	layers                []layerActs
	resid                 []float32 // [BT, C] final residual stream (blocks.{L-1}.hook_resid_post)
	lnf, lnfMean, lnfRstd []float32 // ln_final.hook_normalized and its statistics
	branch                []float32 // [BT, C] attention / MLP output before the residual add
	posEmb                []float32 // [BT, C] hook_pos_embed scratch (GPT-2, hooked runs only)
	cos, sin              []float32 // [MaxSeqLen, hd/2] RoPE tables (Llama)

	// Classifier state. logits holds, per chunk of rows, logits and then
	// probabilities in place; it is sized for the whole batch by Forward and
	// for one chunk by the fused loss path.
	logits  []float32
	tokens  []int32   // [BT] the input, for the embedding backward
	targets []int32   // [BT] target id per position (valid where rowW != 0)
	rowW    []float32 // [BT] loss weight per position; 0 = ignored
	rowLoss []float32 // [BT] cross-entropy per position (0 where ignored)
	// probsHeld says logits holds the probabilities of every row, so
	// Backward need not recompute them.
	probsHeld bool
	// pending says which pass Backward may differentiate (see pendingKind).
	pending pendingKind
	// gradHooks receives gradients during BackwardLogits (gradhooks.go).
	gradHooks *Hooks

	// One layer's gradient scratch, [BT, width] as in layerActs.
	dres, dln    []float32 // residual stream gradient, norm output gradient
	dq, dz       []float32 // [BT, nH·hd]
	dk, dv       []float32 // [BT, nKV·hd]
	datt         []float32 // [B, nH, T, T]
	dpre, dup    []float32 // [BT, H]
	dpost        []float32 // [BT, H]
	normPartials []float32 // [normParts, 2C] per-chunk norm weight/bias gradients

	kern kernels
}

// pendingKind records what the last full-sequence pass left for Backward.
type pendingKind uint8

const (
	pendingNone    pendingKind = iota
	pendingLoss                // Loss or WeightedLoss: rowW holds the loss weights
	pendingLogProb             // SequenceLogProbs: rowW holds the target indicator
)

// normParts bounds how many row chunks the norm backward splits into; each
// has its own weight-gradient partial so the chunks never write the same
// memory, and the fixed count keeps the summation order, and so the result,
// independent of timing.
func normParts() int { return max(1, min(tensor.Threads(), 16)) }

// arena hands out consecutive views of buf; with buf nil it only counts, so
// one function (layout) both sizes and binds the workspace.
type arena struct {
	buf []float32
	off int
}

func (a *arena) take(n int) []float32 {
	if a.buf == nil {
		a.off += n
		return nil
	}
	s := a.buf[a.off : a.off+n : a.off+n]
	a.off += n
	return s
}

// layout binds every view for batch shape (B, T). It is the one place the
// activation sizes are defined.
func (w *activations) layout(cfg Config, a *arena, B, T int) {
	BT, C, H := B*T, cfg.Dim, cfg.HiddenDim
	nH, nKV, hd := cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim()
	qd, kd := nH*hd, nKV*hd
	for l := range w.layers {
		la := &w.layers[l]
		la.resid = a.take(BT * C)
		la.ln1 = a.take(BT * C)
		la.ln1Mean, la.ln1Rstd = a.take(BT), a.take(BT)
		la.q, la.k, la.v = a.take(BT*qd), a.take(BT*kd), a.take(BT*kd)
		la.att = a.take(B * nH * T * T)
		la.z = a.take(BT * qd)
		la.residMid = a.take(BT * C)
		la.ln2 = a.take(BT * C)
		la.ln2Mean, la.ln2Rstd = a.take(BT), a.take(BT)
		la.pre = a.take(BT * H)
		la.up = nil
		if cfg.Gated() {
			la.up = a.take(BT * H)
		}
		la.post = a.take(BT * H)
	}
	w.resid = a.take(BT * C)
	w.lnf, w.lnfMean, w.lnfRstd = a.take(BT*C), a.take(BT), a.take(BT)
	w.branch = a.take(BT * C)
	w.posEmb = nil
	if cfg.Family == GPT2 {
		w.posEmb = a.take(BT * C)
	}
	w.rowW, w.rowLoss = a.take(BT), a.take(BT)

	w.dres, w.dln = a.take(BT*C), a.take(BT*C)
	w.dq, w.dz = a.take(BT*qd), a.take(BT*qd)
	w.dk, w.dv = a.take(BT*kd), a.take(BT*kd)
	w.datt = a.take(B * nH * T * T)
	w.dpre, w.dpost = a.take(BT*H), a.take(BT*H)
	w.dup = nil
	if cfg.Gated() {
		w.dup = a.take(BT * H)
	}
	w.normPartials = a.take(normParts() * 2 * C)
}

// ensure lays the workspace out for (B, T), allocating only when the shape
// needs more memory than it already holds.
func (m *Model) ensure(B, T int) *activations {
	w := m.acts
	if w == nil {
		w = &activations{layers: make([]layerActs, m.Config.NumLayers)}
		w.kern.bind()
		if m.Config.Family == Llama {
			w.cos, w.sin = ropeTables(m.Config.MaxSeqLen, m.Config.HeadDim(), m.Config.RopeTheta)
		}
		m.acts = w
	}
	if w.B == B && w.T == T && w.buf != nil {
		return w
	}
	count := arena{}
	w.layout(m.Config, &count, B, T)
	if count.off > len(w.buf) {
		w.buf = nil // let the old block go before the new one is made
		w.buf = make([]float32, count.off)
		tensor.AdviseHugePages(w.buf) // written and read whole every step, as the weights are
	}
	w.layout(m.Config, &arena{buf: w.buf}, B, T)
	if cap(w.targets) < B*T {
		w.targets, w.tokens = make([]int32, B*T), make([]int32, B*T)
	}
	w.targets, w.tokens = w.targets[:B*T], w.tokens[:B*T]
	w.B, w.T = B, T
	w.probsHeld, w.pending = false, pendingNone
	return w
}

// ensureLogits returns the classifier buffer with room for n floats.
func (w *activations) ensureLogits(n int) []float32 {
	if cap(w.logits) < n {
		w.logits = nil
		w.logits = make([]float32, n)
		tensor.AdviseHugePages(w.logits)
	}
	return w.logits[:n]
}
