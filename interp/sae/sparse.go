// The sparse paths: a batch's firing latents as compressed rows, so that
// decoding and every product after the encoder cost (latents firing) × d_in
// per row instead of d_sae × d_in. TopK always takes them; ReLU when few
// enough latents fire (after the first steps of L1 pressure).

package sae

import "github.com/alignlab/alignlab/tensor"

// csr holds some latents of each row of a batch: row r's are
// idx[ptr[r]:ptr[r+1]], with their values and, after the backward pass,
// the gradients of their pre-activations.
type csr struct {
	ptr  []int
	idx  []int32
	val  []float32
	grad []float32
}

// fixed sets c to k latents per row from idx (b×k), taking their values
// from the dense f (b×m) when f is not nil, else from val (b×k).
func (c *csr) fixed(b, k, m int, idx []int32, f, val []float32) {
	c.ptr = resizeInts(c.ptr, b+1)
	for r := range c.ptr {
		c.ptr[r] = r * k
	}
	c.idx = idx[:b*k]
	if f != nil {
		c.val = resizeFloats(c.val, b*k)
		for r := 0; r < b; r++ {
			for q := r * k; q < (r+1)*k; q++ {
				c.val[q] = f[r*m+int(idx[q])]
			}
		}
	} else {
		c.val = val[:b*k]
	}
	c.grad = resizeFloats(c.grad, b*k)
}

// fromDense sets c to the positive entries of f (b×m), and returns how
// many there are.
func (c *csr) fromDense(b, m int, f []float32) int {
	c.ptr = resizeInts(c.ptr, b+1)
	c.idx, c.val = c.idx[:0], c.val[:0]
	for r := 0; r < b; r++ {
		c.ptr[r] = len(c.idx)
		for j, v := range f[r*m : (r+1)*m] {
			if v > 0 {
				c.idx = append(c.idx, int32(j))
				c.val = append(c.val, v)
			}
		}
	}
	c.ptr[b] = len(c.idx)
	c.grad = resizeFloats(c.grad, len(c.idx))
	return len(c.idx)
}

// decodeSparse computes x̂ = b_dec + Σ val·W_dec[idx] row by row.
func (t *Trainer) decodeSparse(b int, c *csr) {
	s := t.SAE
	d := s.DIn
	tensor.Parallel(b, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			out := t.xh[r*d : (r+1)*d]
			copy(out, s.BDec)
			for q := c.ptr[r]; q < c.ptr[r+1]; q++ {
				if v := c.val[q]; v != 0 {
					j := int(c.idx[q])
					tensor.Axpy(v, s.WDec[j*d:(j+1)*d], out)
				}
			}
		}
	})
}

// decodeSparseBackward backpropagates dout [b, DIn] through x̂ = Σ
// val·W_dec[idx]: dW_dec[j] += v·dout_r, and grad = dout_r·W_dec[j], the
// gradient of latent j's pre-activation. relu: the values went through a
// ReLU, so only positive ones pass gradient; otherwise (AuxK's raw
// pre-activations, as SAELens: a dead latent's pre-activation is usually
// negative, and AuxK must still reach it) all do.
func (t *Trainer) decodeSparseBackward(b int, dout []float32, c *csr, relu bool) {
	s := t.SAE
	d := s.DIn
	tensor.Parallel(b, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			g := dout[r*d : (r+1)*d]
			for q := c.ptr[r]; q < c.ptr[r+1]; q++ {
				c.grad[q] = 0
				if !relu || c.val[q] > 0 {
					j := int(c.idx[q])
					c.grad[q] = tensor.Dot(g, s.WDec[j*d:(j+1)*d])
				}
			}
		}
	})
	// Weight gradients split by columns so no two goroutines share a row
	// segment.
	tensor.Parallel(d, func(lo, hi int) {
		for r := 0; r < b; r++ {
			g := dout[r*d+lo : r*d+hi]
			for q := c.ptr[r]; q < c.ptr[r+1]; q++ {
				if v := c.val[q]; v > 0 || (!relu && v != 0) {
					j := int(c.idx[q])
					tensor.Axpy(v, g, t.gWDec[j*d+lo:j*d+hi])
				}
			}
		}
	})
}

// encoderSparseBackward computes db_enc = Σ dpre and dW_enc = xcᵀ·dpre
// from the sparse pre-activation gradients in lists: dW_encᵀ[j] +=
// dpre[r,j]·xc_r, accumulated transposed (contiguous rows) and transposed
// once at the end. A latent in two lists of a row (TopK's kept but not
// firing, and AuxK's dead) gets the sum of its entries, the first 0.
func (t *Trainer) encoderSparseBackward(b int, lists ...*csr) {
	s := t.SAE
	d, m := s.DIn, s.DSae
	for _, l := range lists {
		for q, j := range l.idx[:l.ptr[b]] {
			t.gBEnc[j] += l.grad[q]
		}
	}
	clear(t.gWEncT)
	tensor.Parallel(d, func(lo, hi int) {
		for r := 0; r < b; r++ {
			xr := t.xc[r*d+lo : r*d+hi]
			for _, l := range lists {
				for q := l.ptr[r]; q < l.ptr[r+1]; q++ {
					if g := l.grad[q]; g != 0 {
						j := int(l.idx[q])
						tensor.Axpy(g, xr, t.gWEncT[j*d+lo:j*d+hi])
					}
				}
			}
		}
	})
	tensor.Parallel(d, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := t.gWEnc[i*m : (i+1)*m]
			for j := range row {
				row[j] = t.gWEncT[j*d+i]
			}
		}
	})
}

func resizeInts(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

func resizeFloats(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
