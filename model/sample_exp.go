package model

import (
	"math"
)

// exp32 is a float32 e^x (Cephes expf: range reduction by ln 2 and a
// degree-6 polynomial, within about 2 ulp). Sampling takes a softmax over
// the whole vocabulary per token and attention an exponential per key; in
// float64 math.Exp that is a visible share of a decode step.
func exp32(x float32) float32 {
	switch {
	case x != x: // NaN
		return x
	case x < -87.33: // below the smallest normal float32, and -Inf
		return 0
	case x > 88:
		return float32(math.Exp(float64(x)))
	}
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	// Round x·log2(e) to nearest by hand: math.Floor is a call, not an
	// instruction, on baseline amd64.
	t := x * log2e
	var n int32
	if t < 0 {
		n = int32(t - 0.5)
	} else {
		n = int32(t + 0.5)
	}
	fx := float32(n)
	r := x - fx*c1 - fx*c2
	z := r * r
	y := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	y = y*z + r + 1
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// expShiftSum sets dst[i] = e^((src[i]-sub)·mul) and returns the sum in
// float64; dst may be nil to get only the sum. sub must be at least every
// src[i] (the maximum) and mul positive, so each exponent is <= 0. It is
// exp32 unrolled into the loop: one call per vocabulary pass instead of one
// per token id.
func expShiftSum(dst, src []float32, sub, mul float32) float64 {
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	if dst != nil {
		dst = dst[:len(src)]
	}
	var s0, s1 float64
	for i, v := range src {
		x := (v - sub) * mul
		var e float32
		if x >= -87.33 { // also false for NaN and -Inf: probability 0
			n := int32(x*log2e - 0.5) // x <= 0: round to nearest
			fx := float32(n)
			r := x - fx*c1 - fx*c2
			y := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
			e = (y*(r*r) + r + 1) * math.Float32frombits(uint32(n+127)<<23)
		}
		if dst != nil {
			dst[i] = e
		}
		if i&1 == 0 {
			s0 += float64(e)
		} else {
			s1 += float64(e)
		}
	}
	return s0 + s1
}
