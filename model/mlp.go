// MLP activation, forward and backward: GPT-2's tanh GELU and Llama's SwiGLU
// (silu(gate)·up). The two linear layers around it are linear.go's; this
// file is the elementwise middle, split over tensor.Parallel.

package model

import "github.com/alignlab/alignlab/tensor"

// actKernel carries one activation call's buffers into its parallel loop
// bodies (bound once, so calls allocate nothing).
type actKernel struct {
	pre, up, post        []float32
	dpre, dup, dpost     []float32
	geluFwd, geluBwd     func(lo, hi int)
	swigluFwd, swigluBwd func(lo, hi int)
}

func (k *actKernel) bind() {
	k.geluFwd = func(lo, hi int) { tensor.GELUForward(k.post[lo:hi], k.pre[lo:hi]) }
	k.geluBwd = func(lo, hi int) {
		clear(k.dpre[lo:hi])
		tensor.GELUBackward(k.dpre[lo:hi], k.pre[lo:hi], k.dpost[lo:hi])
	}
	k.swigluFwd = func(lo, hi int) { tensor.SwiGLUForward(k.post[lo:hi], k.pre[lo:hi], k.up[lo:hi]) }
	k.swigluBwd = func(lo, hi int) {
		clear(k.dpre[lo:hi])
		clear(k.dup[lo:hi])
		tensor.SwiGLUBackward(k.dpre[lo:hi], k.dup[lo:hi], k.dpost[lo:hi], k.pre[lo:hi], k.up[lo:hi])
	}
}

// forward writes post = gelu(pre), or post = silu(pre)·up when up is not
// nil (SwiGLU, pre being the gate).
func (k *actKernel) forward(post, pre, up []float32) {
	k.post, k.pre, k.up = post, pre, up
	if up == nil {
		tensor.Parallel(len(post), k.geluFwd)
		return
	}
	tensor.Parallel(len(post), k.swigluFwd)
}

// backward writes (not accumulates) dpre, and dup for SwiGLU, from dpost.
func (k *actKernel) backward(dpre, dup, dpost, pre, up []float32) {
	k.dpre, k.dup, k.dpost, k.pre, k.up = dpre, dup, dpost, pre, up
	if up == nil {
		tensor.Parallel(len(dpost), k.geluBwd)
		return
	}
	tensor.Parallel(len(dpost), k.swigluBwd)
}
