package tensor

import (
	"math"
	"sync"
)

// Softmax replaces x with exp(x)/sum(exp(x)), subtracting the maximum first
// so large logits do not overflow. Entries equal to -Inf get probability 0;
// if all are -Inf the result is NaN, as the distribution is undefined.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	kn := current.Load()
	mx := kn.max(x)
	sum := kn.expSum(x, x, mx)
	kn.scal(1/sum, x)
}

// lseScratch holds LogSumExp's scratch chunks.
var lseScratch = sync.Pool{New: func() any { return new([512]float32) }}

// LogSumExp returns log(sum(exp(x))) computed stably; it is -Inf for an
// empty x or one of all -Inf.
func LogSumExp(x []float32) float32 {
	if len(x) == 0 {
		return float32(math.Inf(-1))
	}
	kn := current.Load()
	mx := kn.max(x)
	if math.IsInf(float64(mx), 0) || mx != mx {
		return mx
	}
	// The exponentials go to a scratch chunk; x is not written. The chunk
	// comes from a pool because the kernel is called through a function
	// value, so a stack array would escape: 2 KiB of garbage per row.
	buf := lseScratch.Get().(*[512]float32)
	defer lseScratch.Put(buf)
	var sum float64
	for lo := 0; lo < len(x); lo += len(buf) {
		hi := min(lo+len(buf), len(x))
		sum += float64(kn.expSum(buf[:hi-lo], x[lo:hi], mx))
	}
	return mx + float32(math.Log(sum))
}

// maxGeneric returns the largest element of x (NaN if x holds one).
func maxGeneric(x []float32) float32 {
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx || v != v {
			mx = v
		}
	}
	return mx
}

// expSumGeneric sets dst[i] = exp(src[i] - shift) and returns the sum; dst
// may be src.
func expSumGeneric(dst, src []float32, shift float32) float32 {
	dst = dst[:len(src)]
	var s0, s1 float32
	i := 0
	for ; i+1 < len(src); i += 2 {
		e0, e1 := expf(src[i]-shift), expf(src[i+1]-shift)
		dst[i], dst[i+1] = e0, e1
		s0 += e0
		s1 += e1
	}
	if i < len(src) {
		e := expf(src[i] - shift)
		dst[i] = e
		s0 += e
	}
	return s0 + s1
}

// Max returns the largest element of a non-empty x (NaN if x holds one).
func Max(x []float32) float32 {
	if len(x) == 0 {
		panic("tensor.Max: empty slice")
	}
	return current.Load().max(x)
}

// ExpShift sets dst[i] = exp(src[i] - shift) and returns their sum (dst may
// be src): the unnormalised softmax in one pass, when the caller also wants
// the normaliser (log-probabilities and a draw from the same pass).
func ExpShift(dst, src []float32, shift float32) float32 {
	if len(dst) < len(src) {
		panic("tensor.ExpShift: dst shorter than src")
	}
	if len(src) == 0 {
		return 0
	}
	return current.Load().expSum(dst[:len(src)], src, shift)
}
