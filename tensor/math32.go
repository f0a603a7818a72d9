package tensor

import "math"

// Float32 exponential for the softmax and activation kernels. math.Exp in
// float64 costs several nanoseconds and math.Tanh far more; the activations
// only need float32 accuracy, so they use this Cephes-style expf (relative
// error about 2e-7). The assembly kernels run the same algorithm 8 lanes at
// a time, so both paths round alike.

const (
	expLo  = -87.3365478515625 // ln(2^-126): below this the result is flushed to 0
	expHi  = 88.0              // above this the result saturates at exp(88)
	log2e  = 1.4426950216293335
	ln2Hi  = 0.693359375 // ln 2 split so n·ln2Hi is exact
	ln2Lo  = -2.12194440e-4
	expP0  = 1.9875691500e-4
	expP1  = 1.3981999507e-3
	expP2  = 8.3334519073e-3
	expP3  = 4.1665795894e-2
	expP4  = 1.6666665459e-1
	expP5  = 5.0000001201e-1
	geluK  = 0.044715
	geluC  = 0.7978845608028654 // sqrt(2/pi)
	gelu2C = 2 * geluC
	geluK3 = 3 * geluK
	// roundMagic is 1.5·2²³: adding and subtracting it rounds a float32
	// below 2²² to the nearest integer, ties to even, like VROUNDPS.
	roundMagic = 12582912
)

// expf returns e**x in float32: x = n·ln2 + r with |r| <= ln2/2, a degree-6
// polynomial for e**r, then scaling by 2**n. NaN stays NaN, -Inf gives 0.
func expf(x float32) float32 {
	if x != x {
		return x
	}
	if x < expLo {
		return 0
	}
	x = min(x, expHi)
	n := (x*log2e + roundMagic) - roundMagic
	r := x - n*ln2Hi
	r -= n * ln2Lo
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	y := p*(r*r) + r + 1
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}
