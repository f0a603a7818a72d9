package tensor

import (
	"math"
	"sync"
)

// Layer and RMS norms. Forward passes split rows across threads; the
// per-row loops keep four partial sums so the additions pipeline instead
// of waiting on one another (Go does not reassociate float sums itself).

// normParallelMin is the element count from which norms split rows across
// threads.
var normParallelMin = 1 << 15

// parallelRows runs fn over row ranges, threaded when rows·dim is large.
func parallelRows(rows, dim int, fn func(lo, hi int)) {
	if rows*dim < normParallelMin || Threads() == 1 {
		fn(0, rows)
		return
	}
	Parallel(rows, fn)
}

// sum4 returns the sum of x with four independent accumulators.
func sum4(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+3 < len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// sqDev4 returns Σ (x-m)².
func sqDev4(x []float32, m float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+3 < len(x); i += 4 {
		d0, d1, d2, d3 := x[i]-m, x[i+1]-m, x[i+2]-m, x[i+3]-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := x[i] - m
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// LayerNormForward normalises each of rows rows of width dim to zero mean and
// unit variance, then scales by weight and shifts by bias (bias may be nil).
// mean and rstd (length rows) receive the statistics backward needs; either
// may be nil at inference.
func LayerNormForward(out, mean, rstd, inp, weight, bias []float32, rows, dim int, eps float32) {
	weight = weight[:dim]
	parallelRows(rows, dim, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			x := inp[r*dim : (r+1)*dim]
			m := sum4(x) / float32(dim)
			variance := sqDev4(x, m) / float32(dim)
			s := float32(1 / math.Sqrt(float64(variance+eps)))
			o := out[r*dim : (r+1)*dim]
			if bias != nil {
				b := bias[:dim]
				for i, v := range x {
					o[i] = (v-m)*s*weight[i] + b[i]
				}
			} else {
				for i, v := range x {
					o[i] = (v - m) * s * weight[i]
				}
			}
			if mean != nil {
				mean[r] = m
			}
			if rstd != nil {
				rstd[r] = s
			}
		}
	})
}

// LayerNormBackward accumulates the gradients of LayerNormForward into dinp,
// dweight and dbias (dbias may be nil when there is no bias).
func LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, rows, dim int) {
	weight = weight[:dim]
	withRowPartials(rows, dim, dweight, dbias, func(lo, hi int, dw, db []float32) {
		for r := lo; r < hi; r++ {
			layerNormBackwardRow(dinp[r*dim:(r+1)*dim], dw, db, dout[r*dim:(r+1)*dim], inp[r*dim:(r+1)*dim], weight, mean[r], rstd[r])
		}
	})
}

func layerNormBackwardRow(dx, dweight, dbias, g, x, weight []float32, m, s float32) {
	dim := len(x)
	dx, dweight, g, weight = dx[:dim], dweight[:dim], g[:dim], weight[:dim]
	// Two reductions first: the mean of dnorm and of dnorm·norm.
	var a0, a1, b0, b1 float32
	i := 0
	for ; i+1 < dim; i += 2 {
		n0, n1 := (x[i]-m)*s, (x[i+1]-m)*s
		dn0, dn1 := weight[i]*g[i], weight[i+1]*g[i+1]
		a0 += dn0
		a1 += dn1
		b0 += dn0 * n0
		b1 += dn1 * n1
	}
	if i < dim {
		n := (x[i] - m) * s
		dn := weight[i] * g[i]
		a0 += dn
		b0 += dn * n
	}
	dnormMean := (a0 + a1) / float32(dim)
	dnormNormMean := (b0 + b1) / float32(dim)
	if dbias != nil {
		db := dbias[:dim]
		for i, gi := range g {
			db[i] += gi
		}
	}
	for i, xi := range x {
		n := (xi - m) * s
		dweight[i] += n * g[i]
		dx[i] += (weight[i]*g[i] - dnormMean - n*dnormNormMean) * s
	}
}

// withRowPartials runs fn over row ranges, threaded when rows·dim is
// large. The weight gradients (dw, and db unless nil) are sums over all
// rows, so each thread accumulates into zeroed partials of its own, added
// into dw and db at the end; a single range gets dw and db themselves.
func withRowPartials(rows, dim int, dw, db []float32, fn func(lo, hi int, dw, db []float32)) {
	t := min(Threads(), rows)
	if rows*dim < normParallelMin || t <= 1 {
		fn(0, rows, dw, db)
		return
	}
	per := 2 * dim // dw then db
	buf := getBuf(&normPool, t*per)
	defer normPool.Put(buf)
	parts := *buf
	clear(parts)
	chunk := ceilDiv(rows, t)
	Parallel(t, func(lo, hi int) {
		for w := lo; w < hi; w++ {
			p := parts[w*per : (w+1)*per]
			var pdb []float32
			if db != nil {
				pdb = p[dim:]
			}
			fn(w*chunk, min((w+1)*chunk, rows), p[:dim], pdb)
		}
	})
	for w := 0; w < t; w++ {
		p := parts[w*per : (w+1)*per]
		for i := range dim {
			dw[i] += p[i]
		}
		if db != nil {
			for i := range dim {
				db[i] += p[dim+i]
			}
		}
	}
}

// normPool recycles the per-thread weight-gradient partials.
var normPool sync.Pool

// RMSNormForward scales each row by the reciprocal of its root mean square
// and then by weight, as Llama does. rstd (length rows) may be nil.
func RMSNormForward(out, rstd, inp, weight []float32, rows, dim int, eps float32) {
	weight = weight[:dim]
	kn := current.Load()
	parallelRows(rows, dim, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			x := inp[r*dim : (r+1)*dim]
			ss := kn.dot(x, x)
			s := float32(1 / math.Sqrt(float64(ss/float32(dim)+eps)))
			o := out[r*dim : (r+1)*dim]
			for i, v := range x {
				o[i] = v * s * weight[i]
			}
			if rstd != nil {
				rstd[r] = s
			}
		}
	})
}

// RMSNormBackward accumulates the gradients of RMSNormForward into dinp and
// dweight.
func RMSNormBackward(dinp, dweight, dout, inp, weight, rstd []float32, rows, dim int) {
	weight = weight[:dim]
	withRowPartials(rows, dim, dweight, nil, func(lo, hi int, dw, _ []float32) {
		for r := lo; r < hi; r++ {
			rmsNormBackwardRow(dinp[r*dim:(r+1)*dim], dw, dout[r*dim:(r+1)*dim], inp[r*dim:(r+1)*dim], weight, rstd[r])
		}
	})
}

func rmsNormBackwardRow(dx, dweight, g, x, weight []float32, s float32) {
	dim := len(x)
	dx, dweight, g, weight = dx[:dim], dweight[:dim], g[:dim], weight[:dim]
	// d(x·s)/dx = s·I - s³·x·xᵀ/dim, so one reduction of dn·x suffices.
	var d0, d1 float32
	i := 0
	for ; i+1 < dim; i += 2 {
		d0 += g[i] * weight[i] * x[i]
		d1 += g[i+1] * weight[i+1] * x[i+1]
	}
	if i < dim {
		d0 += g[i] * weight[i] * x[i]
	}
	c := (d0 + d1) * s * s * s / float32(dim)
	for i, xi := range x {
		dweight[i] += g[i] * xi * s
		dx[i] += g[i]*weight[i]*s - xi*c
	}
}
