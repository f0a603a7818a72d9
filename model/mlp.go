// MLP activation, forward and backward: GPT-2's tanh GELU and Llama's SwiGLU
// (silu(gate)·up). The two linear layers around it are linear.go's; this
// file is the elementwise middle, split over tensor.Parallel. The math is
// tensor.GELUForward's and tensor.SwiGLUForward's, with a float32 exp
// (mathf.go): in float64 these loops were a large share of a GPT-2 step's
// non-matmul time.

package model

import "github.com/alignlab/alignlab/tensor"

const geluScale = 0.7978845608028654 // sqrt(2/pi)

// geluForward writes out = 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³),
// computed as x·σ(2u), the same function with one exp and no tanh.
func geluForward(out, inp []float32) {
	out = out[:len(inp)]
	i := 0
	if geluForwardVec != nil {
		i = geluForwardVec(out, inp)
	}
	for ; i < len(inp); i++ {
		x := inp[i]
		out[i] = x / (1 + expf(-2*geluScale*(x+0.044715*x*x*x)))
	}
}

// geluBackward writes dinp = dout·gelu'(inp). With s = σ(2u), tanh(u) =
// 2s−1, so gelu' = s + 2x·s·(1−s)·u'.
func geluBackward(dinp, inp, dout []float32) {
	dinp, dout = dinp[:len(inp)], dout[:len(inp)]
	i := 0
	if geluBackwardVec != nil {
		i = geluBackwardVec(dinp, inp, dout)
	}
	for ; i < len(inp); i++ {
		x := inp[i]
		s := 1 / (1 + expf(-2*geluScale*(x+0.044715*x*x*x)))
		dinp[i] = dout[i] * (s + 2*x*s*(1-s)*geluScale*(1+3*0.044715*x*x))
	}
}

// swigluForward writes out = silu(gate)·up.
func swigluForward(out, gate, up []float32) {
	out, up = out[:len(gate)], up[:len(gate)]
	i := 0
	if swigluForwardVec != nil {
		i = swigluForwardVec(out, gate, up)
	}
	for ; i < len(gate); i++ {
		g := gate[i]
		out[i] = g / (1 + expf(-g)) * up[i]
	}
}

// swigluBackward writes dgate and dup from dout.
func swigluBackward(dgate, dup, dout, gate, up []float32) {
	dgate, dup, dout, up = dgate[:len(gate)], dup[:len(gate)], dout[:len(gate)], up[:len(gate)]
	i := 0
	if swigluBackwardVec != nil {
		i = swigluBackwardVec(dgate, dup, dout, gate, up)
	}
	for ; i < len(gate); i++ {
		g := gate[i]
		sig := 1 / (1 + expf(-g))
		dup[i] = dout[i] * g * sig
		dgate[i] = dout[i] * up[i] * sig * (1 + g*(1-sig))
	}
}

// actKernel carries one activation call's buffers into its parallel loop
// bodies (bound once, so calls allocate nothing).
type actKernel struct {
	pre, up, post        []float32
	dpre, dup, dpost     []float32
	geluFwd, geluBwd     func(lo, hi int)
	swigluFwd, swigluBwd func(lo, hi int)
}

func (k *actKernel) bind() {
	k.geluFwd = func(lo, hi int) { geluForward(k.post[lo:hi], k.pre[lo:hi]) }
	k.geluBwd = func(lo, hi int) { geluBackward(k.dpre[lo:hi], k.pre[lo:hi], k.dpost[lo:hi]) }
	k.swigluFwd = func(lo, hi int) { swigluForward(k.post[lo:hi], k.pre[lo:hi], k.up[lo:hi]) }
	k.swigluBwd = func(lo, hi int) {
		swigluBackward(k.dpre[lo:hi], k.dup[lo:hi], k.dpost[lo:hi], k.pre[lo:hi], k.up[lo:hi])
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
