// Global gradient-norm clipping, as torch.nn.utils.clip_grad_norm_.

package train

import (
	"math"
	"sync"

	"github.com/alignlab/alignlab/tensor"
)

// clipBlock is the unit of the parallel sum of squares (64 Ki floats); a
// fixed block size keeps the summation order, and so the norm, independent
// of the thread count.
const clipBlock = 1 << 16

// normKernel sums squares per block; kept in a pool so a call allocates
// nothing once warm.
type normKernel struct {
	grads    []float32
	partials []float64
	scale    float32
	fn       func(lo, hi int) // sum of squares per block
	scaleFn  func(lo, hi int) // grads *= scale per block
}

var normKernels = sync.Pool{New: func() any {
	k := &normKernel{}
	k.fn = func(lo, hi int) {
		for blk := lo; blk < hi; blk++ {
			// A float32 dot within a block (vectorised, several partial
			// sums), float64 across blocks: ample for a norm.
			x := k.grads[blk*clipBlock : min((blk+1)*clipBlock, len(k.grads))]
			k.partials[blk] = float64(tensor.Dot(x, x))
		}
	}
	k.scaleFn = func(lo, hi int) {
		for i := range k.grads[lo*clipBlock : min(hi*clipBlock, len(k.grads))] {
			k.grads[lo*clipBlock+i] *= k.scale
		}
	}
	return k
}}

// GradNorm returns the L2 norm of grads, accumulated in float64.
func GradNorm(grads []float32) float32 {
	k := normKernels.Get().(*normKernel)
	defer normKernels.Put(k)
	nb := (len(grads) + clipBlock - 1) / clipBlock
	if cap(k.partials) < nb {
		k.partials = make([]float64, nb)
	}
	k.grads, k.partials = grads, k.partials[:nb]
	tensor.Parallel(nb, k.fn)
	var s float64
	for _, p := range k.partials {
		s += p
	}
	k.grads = nil
	return float32(math.Sqrt(s))
}

// ClipGradNorm scales grads in place so their L2 norm is at most maxNorm,
// and returns the norm before clipping. As in PyTorch the scale is
// maxNorm/(norm+1e-6). maxNorm <= 0 only measures. A NaN or infinite norm is
// returned without touching grads, for the caller to stop on.
func ClipGradNorm(grads []float32, maxNorm float32) float32 {
	norm := GradNorm(grads)
	if maxNorm <= 0 || !(norm > maxNorm) || math.IsInf(float64(norm), 0) {
		return norm
	}
	k := normKernels.Get().(*normKernel)
	defer normKernels.Put(k)
	k.grads, k.scale = grads, float32(float64(maxNorm)/(float64(norm)+1e-6))
	tensor.Parallel((len(grads)+clipBlock-1)/clipBlock, k.scaleFn)
	k.grads = nil
	return norm
}
