package tensor

import "math"

// LayerNormForward normalises each of rows rows of width dim to zero mean and
// unit variance, then scales by weight and shifts by bias (bias may be nil).
// mean and rstd (length rows) receive the statistics backward needs; either
// may be nil at inference.
func LayerNormForward(out, mean, rstd, inp, weight, bias []float32, rows, dim int, eps float32) {
	for r := 0; r < rows; r++ {
		x := inp[r*dim : (r+1)*dim]
		var m float32
		for _, v := range x {
			m += v
		}
		m /= float32(dim)
		var variance float32
		for _, v := range x {
			d := v - m
			variance += d * d
		}
		variance /= float32(dim)
		s := float32(1 / math.Sqrt(float64(variance+eps)))
		o := out[r*dim : (r+1)*dim]
		for i, v := range x {
			n := (v - m) * s
			if bias != nil {
				o[i] = n*weight[i] + bias[i]
			} else {
				o[i] = n * weight[i]
			}
		}
		if mean != nil {
			mean[r] = m
		}
		if rstd != nil {
			rstd[r] = s
		}
	}
}

// LayerNormBackward accumulates the gradients of LayerNormForward into dinp,
// dweight and dbias (dbias may be nil when there is no bias).
func LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, rows, dim int) {
	for r := 0; r < rows; r++ {
		x := inp[r*dim : (r+1)*dim]
		g := dout[r*dim : (r+1)*dim]
		dx := dinp[r*dim : (r+1)*dim]
		m, s := mean[r], rstd[r]
		// Two reductions first: the mean of dnorm and of dnorm·norm.
		var dnormMean, dnormNormMean float32
		for i := range x {
			n := (x[i] - m) * s
			dn := weight[i] * g[i]
			dnormMean += dn
			dnormNormMean += dn * n
		}
		dnormMean /= float32(dim)
		dnormNormMean /= float32(dim)
		for i := range x {
			n := (x[i] - m) * s
			dn := weight[i] * g[i]
			if dbias != nil {
				dbias[i] += g[i]
			}
			dweight[i] += n * g[i]
			dx[i] += (dn - dnormMean - n*dnormNormMean) * s
		}
	}
}

// RMSNormForward scales each row by the reciprocal of its root mean square
// and then by weight, as Llama does. rstd (length rows) may be nil.
func RMSNormForward(out, rstd, inp, weight []float32, rows, dim int, eps float32) {
	for r := 0; r < rows; r++ {
		x := inp[r*dim : (r+1)*dim]
		var ss float32
		for _, v := range x {
			ss += v * v
		}
		s := float32(1 / math.Sqrt(float64(ss/float32(dim)+eps)))
		o := out[r*dim : (r+1)*dim]
		for i, v := range x {
			o[i] = v * s * weight[i]
		}
		if rstd != nil {
			rstd[r] = s
		}
	}
}

// RMSNormBackward accumulates the gradients of RMSNormForward into dinp and
// dweight.
func RMSNormBackward(dinp, dweight, dout, inp, weight, rstd []float32, rows, dim int) {
	for r := 0; r < rows; r++ {
		x := inp[r*dim : (r+1)*dim]
		g := dout[r*dim : (r+1)*dim]
		dx := dinp[r*dim : (r+1)*dim]
		s := rstd[r]
		// d(x·s)/dx = s·I - s³·x·xᵀ/dim, so one reduction of dn·x suffices.
		var dot float32
		for i := range x {
			dot += g[i] * weight[i] * x[i]
		}
		c := dot * s * s * s / float32(dim)
		for i := range x {
			dweight[i] += g[i] * x[i] * s
			dx[i] += g[i]*weight[i]*s - x[i]*c
		}
	}
}
