// Half-precision (IEEE fp16) storage for data that is written once and
// read many times, such as a KV cache: values are converted on write and
// widened to float32 inside the products, so the arithmetic stays float32
// and only the stored values are rounded (to 11 significant bits).

package tensor

import (
	"fmt"
	"math"
)

// FloatsToHalves sets dst[i] to src[i] rounded to the nearest fp16 value
// (ties to even; beyond ±65504 it becomes ±Inf; NaN stays NaN).
func FloatsToHalves(dst []uint16, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("tensor.FloatsToHalves: %d halves for %d floats", len(dst), len(src)))
	}
	n8 := 0
	if halfKernel() {
		n8 = len(src) &^ 7
		if n8 > 0 {
			f32to16(n8, src, dst)
		}
	}
	for i := n8; i < len(src); i++ {
		dst[i] = halfFromFloat(src[i])
	}
}

// HalvesToFloats sets dst[i] to the exact float32 value of the fp16 src[i].
func HalvesToFloats(dst []float32, src []uint16) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("tensor.HalvesToFloats: %d floats for %d halves", len(dst), len(src)))
	}
	n8 := 0
	if halfKernel() {
		n8 = len(src) &^ 7
		if n8 > 0 {
			f16to32(n8, src, dst)
		}
	}
	for i := n8; i < len(src); i++ {
		dst[i] = halfToFloat(src[i])
	}
}

// MatVecHalf is MatVec over fp16 rows: out[j] = x · w[j*ldw : j*ldw+len(x)]
// for every j < len(out), each half widened to float32, on the calling
// goroutine (attention scores over a half-precision key cache).
func MatVecHalf(x []float32, w []uint16, ldw int, out []float32) {
	matVecHalf(x, w, ldw, out, nil)
}

// MatVecHalfPrefetch is MatVecHalf that also asks the CPU, evenly as it
// goes, to fetch next into cache: what the caller reads next (attention
// reads a head's values after scoring its keys), which then arrives while
// the keys are scored instead of after. The results are MatVecHalf's.
func MatVecHalfPrefetch(x []float32, w []uint16, ldw int, out []float32, next []uint16) {
	matVecHalf(x, w, ldw, out, next)
}

func matVecHalf(x []float32, w []uint16, ldw int, out []float32, next []uint16) {
	if len(out) == 0 {
		return
	}
	if ldw < len(x) || len(w) < (len(out)-1)*ldw+len(x) {
		panic(fmt.Sprintf("tensor.MatVecHalf(Prefetch): %d rows of %d with stride %d need more than %d halves", len(out), len(x), ldw, len(w)))
	}
	k8 := len(x) &^ 7
	if !halfKernel() || k8 == 0 {
		for j := range out {
			out[j] = dotHalfGo(x, w[j*ldw:j*ldw+len(x)])
		}
		return
	}
	r8 := len(out) &^ 7
	if r8 > 0 && len(next) > 0 {
		matvec8hp(k8, r8/8, x, w, ldw, out, next)
	} else if r8 > 0 {
		matvec8h(k8, r8/8, x, w, ldw, out)
	}
	for j := r8; j < len(out); j++ {
		out[j] = doth(k8, x, w[j*ldw:])
	}
	if k8 < len(x) {
		for j := range out {
			out[j] += dotHalfGo(x[k8:], w[j*ldw+k8:j*ldw+len(x)])
		}
	}
}

// VecMatHalf is VecMat over fp16 rows: out = Σ_t a[t] · w[t*ldw :
// t*ldw+len(out)] over t < len(a), each half widened to float32, on the
// calling goroutine (attention's weighted sum over a half-precision value
// cache).
func VecMatHalf(a []float32, w []uint16, ldw int, out []float32) {
	if len(a) == 0 {
		clear(out)
		return
	}
	if ldw < len(out) || len(w) < (len(a)-1)*ldw+len(out) {
		panic(fmt.Sprintf("tensor.VecMatHalf: %d rows of %d with stride %d need more than %d halves", len(a), len(out), ldw, len(w)))
	}
	c0 := 0
	if n8 := len(out) &^ 7; halfKernel() && n8 > 0 {
		vecmath(n8, a, w, ldw, out)
		c0 = n8
	}
	for j := c0; j < len(out); j++ {
		var s float32
		for t, at := range a {
			s += at * halfToFloat(w[t*ldw+j])
		}
		out[j] = s
	}
}

// dotHalfGo is x · float32(w) in plain Go.
func dotHalfGo(x []float32, w []uint16) float32 {
	w = w[:len(x)]
	var s float32
	for i, v := range x {
		s += v * halfToFloat(w[i])
	}
	return s
}

// halfFromFloat rounds f to the nearest fp16 value, ties to even, as the
// F16C instruction VCVTPS2PH does with rounding mode 0.
func halfFromFloat(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13) // quiet NaN, payload kept
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half (or zero): m·2^-24 with m = (1.mant)·2^(e+9).
		shift := uint(14 - e)
		if shift > 24 {
			return sign
		}
		m := mant | 0x800000
		h := m >> shift
		rem, halfway := m&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > halfway || (rem == halfway && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is right, up to Inf
	}
	return sign | uint16(h)
}

// halfToFloat is the exact float32 value of the fp16 h.
func halfToFloat(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}
