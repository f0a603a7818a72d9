// Normalisation layers, forward and backward: LayerNorm (GPT-2 family) and
// RMSNorm (Llama family), both from the tensor kernels, split over rows with
// tensor.Parallel.

package model

import "github.com/alignlab/alignlab/tensor"

// normKernel carries one norm call's buffers into its parallel loop bodies;
// the bodies are method values bound once (bind), so a call allocates
// nothing.
type normKernel struct {
	rms                   bool
	out, mean, rstd, inp  []float32
	weight, bias          []float32
	dinp, dweight, dbias  []float32
	dout, partials        []float32
	rows, dim, parts      int
	eps                   float32
	forwardFn, backwardFn func(lo, hi int)
}

func (k *normKernel) bind() {
	k.forwardFn = k.forwardRows
	k.backwardFn = k.backwardParts
}

// forward normalises rows rows of width dim: LayerNorm with weight and bias
// (bias may be nil) when rms is false, else RMSNorm with weight. mean and rstd
// receive the statistics backward needs (mean is unused by RMSNorm).
func (k *normKernel) forward(rms bool, out, mean, rstd, inp, weight, bias []float32, rows, dim int, eps float32) {
	k.rms, k.out, k.mean, k.rstd, k.inp = rms, out, mean, rstd, inp
	k.weight, k.bias, k.rows, k.dim, k.eps = weight, bias, rows, dim, eps
	tensor.Parallel(rows, k.forwardFn)
}

func (k *normKernel) forwardRows(lo, hi int) {
	d := k.dim
	if k.rms {
		tensor.RMSNormForward(k.out[lo*d:hi*d], k.rstd[lo:hi], k.inp[lo*d:hi*d], k.weight, hi-lo, d, k.eps)
		return
	}
	tensor.LayerNormForward(k.out[lo*d:hi*d], k.mean[lo:hi], k.rstd[lo:hi], k.inp[lo*d:hi*d], k.weight, k.bias, hi-lo, d, k.eps)
}

// backward accumulates the norm's gradients: dinp += ∂/∂inp, dweight and
// dbias (nil without bias) += their gradients. Row chunks write their weight
// gradients into separate partials (scratch of at least parts·2·dim floats),
// summed afterwards in a fixed order.
func (k *normKernel) backward(rms bool, dinp, dweight, dbias, dout, inp, weight, mean, rstd, partials []float32, rows, dim int) {
	k.rms, k.dinp, k.dweight, k.dbias, k.dout = rms, dinp, dweight, dbias, dout
	k.inp, k.weight, k.mean, k.rstd, k.rows, k.dim = inp, weight, mean, rstd, rows, dim
	k.parts = max(1, min(normParts(), rows, len(partials)/(2*dim)))
	k.partials = partials[:k.parts*2*dim]
	clear(k.partials)
	tensor.Parallel(k.parts, k.backwardFn)
	for p := 0; p < k.parts; p++ {
		part := k.partials[p*2*dim : (p+1)*2*dim]
		for i, g := range part[:dim] {
			dweight[i] += g
		}
		if dbias != nil {
			for i, g := range part[dim:] {
				dbias[i] += g
			}
		}
	}
}

func (k *normKernel) backwardParts(lo, hi int) {
	d := k.dim
	for p := lo; p < hi; p++ {
		r0, r1 := p*k.rows/k.parts, (p+1)*k.rows/k.parts
		dw := k.partials[p*2*d : p*2*d+d]
		x, g, dx := k.inp[r0*d:r1*d], k.dout[r0*d:r1*d], k.dinp[r0*d:r1*d]
		if k.rms {
			tensor.RMSNormBackward(dx, dw, g, x, k.weight, k.rstd[r0:r1], r1-r0, d)
			continue
		}
		var db []float32
		if k.dbias != nil {
			db = k.partials[p*2*d+d : (p+1)*2*d]
		}
		tensor.LayerNormBackward(dx, dw, db, g, x, k.weight, k.mean[r0:r1], k.rstd[r0:r1], r1-r0, d)
	}
}
