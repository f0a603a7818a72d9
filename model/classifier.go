// LM head and softmax cross-entropy, fused in the style of llm.c's
// classifier: logits for a chunk of rows are computed into one buffer,
// turned into probabilities in place (keeping each row's loss), and in
// backward into dlogits in place, so no separate probability or gradient
// array of B·T·V floats exists. When the whole batch fits in one chunk
// (maxHeadFloats) the probabilities stay for Backward; otherwise Backward
// recomputes each chunk's logits, trading one extra head matmul for memory.

package model

import "github.com/alignlab/alignlab/tensor"

// maxHeadFloats bounds the logits the fused loss path holds at once: 2^25
// floats (128 MiB), e.g. 667 rows at GPT-2's vocabulary of 50257. A variable
// so tests can force the chunked path.
var maxHeadFloats = 1 << 25

// headChunkRows is how many rows of V logits the fused path computes at once.
func headChunkRows(rows, V int) int { return max(1, min(rows, maxHeadFloats/V)) }

// headKernel carries one chunk's buffers into the parallel row loops (bound
// once, so calls allocate nothing).
type headKernel struct {
	logits        []float32 // [rows of the chunk, V]
	targets       []int32   // [BT]
	rowW, rowLoss []float32 // [BT]
	entropy       []float32 // [BT] or nil: row r's entropy goes to r+1
	r0, V         int
	probsFn       func(lo, hi int)
	gradFn        func(lo, hi int)
}

func (k *headKernel) bind() {
	k.probsFn = k.probsRange
	k.gradFn = k.gradRange
}

// probsRange turns chunk rows lo..hi-1 from logits into probabilities and
// records each row's cross-entropy, −log p(target) = logsumexp − logit.
// Rows with weight 0 are skipped: their loss is 0 and their target unread.
// With an entropy slice, each row's entropy is taken on the way (entropy.go).
func (k *headKernel) probsRange(lo, hi int) {
	if k.entropy != nil {
		k.probsEntropyRange(lo, hi)
		return
	}
	V := k.V
	for i := lo; i < hi; i++ {
		r := k.r0 + i
		if k.rowW[r] == 0 {
			k.rowLoss[r] = 0
			continue
		}
		x := k.logits[i*V : (i+1)*V]
		k.rowLoss[r] = tensor.LogSumExp(x) - x[k.targets[r]]
		tensor.Softmax(x)
	}
}

// probsEntropyRange is probsRange that also writes each weighted row's
// entropy to entropy[r+1], the position its target sits at.
func (k *headKernel) probsEntropyRange(lo, hi int) {
	V := k.V
	buf := entropyScratch.Get().(*[entropyChunk]float32)
	defer entropyScratch.Put(buf)
	for i := lo; i < hi; i++ {
		r := k.r0 + i
		if k.rowW[r] == 0 {
			k.rowLoss[r] = 0
			continue
		}
		x := k.logits[i*V : (i+1)*V]
		target := x[k.targets[r]] // before lseEntropy shifts the row
		lse, h := lseEntropy(x, buf)
		k.rowLoss[r] = lse - target
		tensor.Softmax(x)
		if h != h { // a non-finite logit: sum the finite terms, p > 0
			h = probsEntropy(x)
		}
		k.entropy[r+1] = h
	}
}

// gradRange turns chunk rows lo..hi-1 from probabilities into dlogits =
// w·(p − onehot(target)), the gradient of w·CE; weight-0 rows become zero.
func (k *headKernel) gradRange(lo, hi int) {
	V := k.V
	for i := lo; i < hi; i++ {
		r := k.r0 + i
		x := k.logits[i*V : (i+1)*V]
		w := k.rowW[r]
		if w == 0 {
			clear(x)
			continue
		}
		for j := range x {
			x[j] *= w
		}
		x[k.targets[r]] -= w
	}
}

// headProbs computes logits for rows r0..r0+n-1 of ln_final's output into
// the chunk buffer and turns them into probabilities and per-row losses,
// and, when entropy is not nil, entropies (see headKernel.entropy).
func (m *Model) headProbs(w *activations, r0, n int, entropy []float32) {
	C, V := m.Config.Dim, m.Config.VocabSize
	tensor.Gemm(false, true, n, V, C, 1, w.lnf[r0*C:], C, m.Params.LMHead, C, 0, w.logits, V)
	k := &w.kern.head
	k.logits, k.targets, k.rowW, k.rowLoss, k.r0, k.V = w.logits, w.targets, w.rowW, w.rowLoss, r0, V
	k.entropy = entropy
	tensor.Parallel(n, k.probsFn)
	k.entropy = nil
}

// headForward runs the fused head over every row, filling rowLoss from
// targets and rowW (set by the caller).
func (m *Model) headForward(w *activations) {
	BT, V := w.B*w.T, m.Config.VocabSize
	chunk := headChunkRows(BT, V)
	w.ensureLogits(chunk * V)
	for r0 := 0; r0 < BT; r0 += chunk {
		m.headProbs(w, r0, min(chunk, BT-r0), nil)
	}
	w.probsHeld = chunk >= BT
}

// headBackward turns each chunk's probabilities into dlogits with the
// current rowW, writes dln = dlogits·W (the gradient of ln_final's output)
// and accumulates dW += dlogitsᵀ·ln_final into the head's gradient.
func (m *Model) headBackward(w *activations) {
	BT, C, V := w.B*w.T, m.Config.Dim, m.Config.VocabSize
	chunk := headChunkRows(BT, V)
	k := &w.kern.head
	for r0 := 0; r0 < BT; r0 += chunk {
		n := min(chunk, BT-r0)
		if !w.probsHeld {
			m.headProbs(w, r0, n, nil)
		}
		k.logits, k.targets, k.rowW, k.r0, k.V = w.logits, w.targets, w.rowW, r0, V
		tensor.Parallel(n, k.gradFn)
		tensor.Gemm(false, false, n, C, V, 1, w.logits, V, m.Params.LMHead, C, 0, w.dln[r0*C:], C)
		tensor.Gemm(true, false, V, C, n, 1, w.logits, V, w.lnf[r0*C:], C, 1, m.Grads.LMHead, C)
	}
	w.probsHeld = false // the buffer now holds dlogits
}
