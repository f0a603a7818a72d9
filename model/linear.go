// Linear layer (matmul + bias), forward and backward. Weights are stored
// [out, in] as in PyTorch, so forward is y = x·Wᵀ + b; all three products go
// through tensor.Gemm, which is where the step's time is spent.

package model

import "github.com/alignlab/alignlab/tensor"

// linearForward computes out[rows, outDim] = inp[rows, in]·Wᵀ + b; b may be
// nil. The bias is written first and the product added to it (beta = 1), so
// out is touched once more rather than twice.
func linearForward(out, inp, w, b []float32, rows, in, outDim int) {
	var beta float32
	if b != nil {
		for r := 0; r < rows; r++ {
			copy(out[r*outDim:(r+1)*outDim], b[:outDim])
		}
		beta = 1
	}
	tensor.Gemm(false, true, rows, outDim, in, 1, inp, in, w, in, beta, out, outDim)
}

// linearBackward accumulates dW += doutᵀ·inp and db += Σ_rows dout (db may
// be nil), and writes dinp = dout·W, or adds it when accumulate is set (a
// second consumer of the same input). dinp nil skips the input gradient.
func linearBackward(dinp, dw, db, dout, inp, w []float32, rows, in, outDim int, accumulate bool) {
	if dinp != nil {
		var beta float32
		if accumulate {
			beta = 1
		}
		tensor.Gemm(false, false, rows, in, outDim, 1, dout, outDim, w, in, beta, dinp, in)
	}
	tensor.Gemm(true, false, outDim, in, rows, 1, dout, outDim, inp, in, 1, dw, in)
	if db != nil {
		db = db[:outDim]
		for r := 0; r < rows; r++ {
			row := dout[r*outDim : (r+1)*outDim]
			for j, g := range row {
				db[j] += g
			}
		}
	}
}
