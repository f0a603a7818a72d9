// Float32 exp and tanh for the elementwise hot loops of training (the fused
// head's softmax over the vocabulary, GELU, SwiGLU's sigmoid). math.Exp and
// math.Tanh work in float64 and cost several times more; these are Cephes's
// float32 versions, within about 2 ulp.

package model

import "math"

// Vector versions of the loops below (mathf_amd64.go, AVX2+FMA) process a
// prefix whose length is a multiple of 8 and report it; nil where the CPU
// or the build (purego) has none.
var (
	expSubSumVec    func(x []float32, shift float32) (n int, sum float64)
	geluForwardVec  func(out, inp []float32) int
	geluBackwardVec func(dinp, inp, dout []float32) int

	swigluForwardVec  func(out, gate, up []float32) int
	swigluBackwardVec func(dgate, dup, dout, gate, up []float32) int
)

// expSubSum replaces x[i] by e^(x[i]−shift) and returns the sum in float64.
func expSubSum(x []float32, shift float32) float64 {
	i, sum := 0, 0.0
	if expSubSumVec != nil {
		i, sum = expSubSumVec(x, shift)
	}
	for ; i < len(x); i++ {
		e := expf(x[i] - shift)
		x[i] = e
		sum += float64(e)
	}
	return sum
}

// expf returns e^x in float32: range reduction by ln 2 and a degree-6
// polynomial (Cephes expf).
func expf(x float32) float32 {
	switch {
	case x != x: // NaN
		return x
	case x < -87.33: // below the smallest normal float32, and -Inf
		return 0
	case x > 88.7:
		return float32(math.Inf(1))
	}
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
		// Adding 1.5·2²³ rounds to an integer in the low mantissa bits:
		// round to nearest without a call to math.Floor.
		magic = 12582912
	)
	k := x*log2e + magic
	n := int32(math.Float32bits(k)) - 0x4b400000
	fx := k - magic
	r := x - fx*c1 - fx*c2
	z := r * r
	y := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	y = y*z + r + 1
	// n is in [-126, 128]; scale in two halves so 2ⁿ never overflows.
	h := n / 2
	return y * math.Float32frombits(uint32(h+127)<<23) * math.Float32frombits(uint32(n-h+127)<<23)
}

// tanhf returns tanh(x) in float32 (Cephes tanhf): an odd polynomial near
// zero, 1 − 2/(e^{2|x|}+1) beyond.
func tanhf(x float32) float32 {
	ax := x
	if ax < 0 {
		ax = -ax
	}
	switch {
	case ax != ax: // NaN
		return x
	case ax > 9: // tanh(9) rounds to 1 in float32
		if x < 0 {
			return -1
		}
		return 1
	case ax >= 0.625:
		z := 1 - 2/(expf(2*ax)+1)
		if x < 0 {
			return -z
		}
		return z
	}
	z := x * x
	return ((((-5.70498872745e-3*z+2.06390887954e-2)*z-5.37397155531e-2)*z+1.33314422036e-1)*z-3.33332819422e-1)*z*x + x
}
