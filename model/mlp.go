// MLP activation, forward and backward: GPT-2's tanh GELU and Llama's SwiGLU
// (silu(gate)·up). The two linear layers around it are linear.go's; this
// file is the elementwise middle, on the tensor kernels (vectorised and
// split across threads there).

package model

import "github.com/alignlab/alignlab/tensor"

// mlpActForward writes post = gelu(pre), or post = silu(pre)·up when up is
// not nil (SwiGLU, pre being the gate).
func mlpActForward(post, pre, up []float32) {
	if up == nil {
		tensor.GELUForward(post, pre)
		return
	}
	tensor.SwiGLUForward(post, pre, up)
}

// mlpActBackward writes (not accumulates) dpre, and dup for SwiGLU, from
// dpost. The tensor kernels accumulate, so the outputs are zeroed first.
func mlpActBackward(dpre, dup, dpost, pre, up []float32) {
	clear(dpre)
	if up == nil {
		tensor.GELUBackward(dpre, pre, dpost)
		return
	}
	clear(dup)
	tensor.SwiGLUBackward(dpre, dup, dpost, pre, up)
}
