// Residual connection. Forward is an addition; backward needs no code of
// its own: the residual stream's gradient (activations.dres) passes through
// unchanged, and each branch's input gradient is added to it by the norm
// backward that opens the branch (the tensor norm kernels accumulate).

package model

// residualForward writes out = a + b elementwise.
func residualForward(out, a, b []float32) {
	b = b[:len(a)]
	out = out[:len(a)]
	for i, x := range a {
		out[i] = x + b[i]
	}
}
