// Entropy of the head's softmax rows without V logarithms. For logits x
// with maximum m, e_i = exp(x_i − m) and S = Σ e_i, the entropy of
// softmax(x) is H = log S − Σ e_i·(x_i − m)/S: one dot product per row
// instead of −Σ p·log p. The row is shifted by m in place first, so every
// term of the dot has the same sign (no cancellation when H is near 0), and
// the Softmax that follows sees exactly the x_i − m it would have formed
// itself: probabilities and losses are bitwise those of the entropy-free
// path.

package model

import (
	"math"
	"sync"

	"github.com/alignlab/alignlab/tensor"
)

// entropyChunk is how many exponentials lseEntropy holds at once: small
// enough to stay in L1 between the exp pass and the dot that reads it.
const entropyChunk = 512

// onesRow is the x of the Axpy that subtracts m from a chunk (y − m·1).
var onesRow = func() *[entropyChunk]float32 {
	var o [entropyChunk]float32
	for i := range o {
		o[i] = 1
	}
	return &o
}()

// entropyScratch holds lseEntropy's chunk of exponentials, one per worker
// range (a stack array would escape through the kernels' function values).
var entropyScratch = sync.Pool{New: func() any { return new([entropyChunk]float32) }}

// lseEntropy shifts the row x by its maximum in place and returns
// logsumexp(x), bit for bit what tensor.LogSumExp gives for the unshifted
// row (same chunking, same float64 sum), and the entropy of softmax(x). A
// row whose maximum is ±Inf or NaN is left alone: its logsumexp is that
// maximum, as tensor.LogSumExp has it, and its entropy NaN, as is the
// entropy of a row with a −Inf logit (0·−Inf in the dot); probsEntropy
// is the fallback for both.
func lseEntropy(x []float32, buf *[entropyChunk]float32) (lse, h float32) {
	mx := tensor.Max(x)
	if math.IsInf(float64(mx), 0) || mx != mx {
		return mx, float32(math.NaN())
	}
	var s, d float64 // S and Σ e·(x − m) ≤ 0
	for lo := 0; lo < len(x); lo += entropyChunk {
		c := x[lo:min(lo+entropyChunk, len(x))]
		e := buf[:len(c)]
		tensor.Axpy(-mx, onesRow[:len(c)], c)
		s += float64(tensor.ExpShift(e, c, 0))
		d += float64(tensor.Dot(e, c))
	}
	logS := math.Log(s)
	return mx + float32(logS), float32(logS - d/s)
}

// probsEntropy returns −Σ p·log p over the p > 0 of a probability row, with
// V logarithms: the fallback for rows lseEntropy cannot take.
func probsEntropy(p []float32) float32 {
	var h float64
	for _, v := range p {
		if v > 0 {
			h -= float64(v) * math.Log(float64(v))
		}
	}
	return float32(h)
}
