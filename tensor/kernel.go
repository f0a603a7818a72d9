package tensor

import "sync/atomic"

// A kernel is one implementation of the inner loops: the sgemm micro-kernel
// with its register-tile shape and cache blocking, and the vector primitives
// the small-m and attention paths use. kernels lists those this CPU can run,
// fastest first; the first is chosen at start-up (on amd64: AVX-512, AVX2,
// then the portable Go kernel).
type kernel struct {
	name string
	// mr×nr is the register tile; kc, mc, nc the cache blocks: a kc×nr
	// panel of B and an mr×kc panel of A stay in L1, an mc×kc block of A in
	// L2 and a kc×nc block of B in L3.
	mr, nr     int
	kc, mc, nc int
	// ncCachedA replaces nc when A is small enough to pack once for all
	// B blocks (gemmPacked).
	ncCachedA int
	// micro computes the mr×nr tile c = alpha·a·b + beta·c from packed
	// panels a (kc steps of mr) and b (kc steps of nr); beta == 0 ignores c.
	// It may prefetch from next (the B panel the caller will use next).
	micro func(kc int, a, b, c []float32, ldc int, alpha, beta float32, next []float32)
	// dot returns a·b over len(a) elements.
	dot func(a, b []float32) float32
	// axpy does y += alpha·x over len(x) elements.
	axpy func(alpha float32, x, y []float32)
	// scal does x *= alpha.
	scal func(alpha float32, x []float32)

	// max returns the largest element of a non-empty x.
	max func(x []float32) float32
	// expSum sets dst[i] = exp(src[i]-shift) and returns their sum.
	expSum func(dst, src []float32, shift float32) float32
	// gemv6x16 computes, for tiles tiles of six rows of w from its start
	// and the first m rows of x packed k-major sixteen to a step (xp),
	// c[i*ldc+j] = x_i · w_j, plus c's value if acc; k is even. Nil where
	// the kernel has none (gemmGemvOuter).
	gemv6x16 func(k, tiles int, w []float32, ldw int, xp []float32, c []float32, ldc int, acc bool, m int)
	// sumsAtLeast and indicesIn are BlockSumsAtLeast (over len(sums)
	// blocks) and IndicesInRange.
	sumsAtLeast func(sums, x []float32, lo float32)
	indicesIn   func(dst []int32, x []float32, lo, hi float32) int
	// The activations, elementwise over len(inp) or len(gate).
	gelu       func(out, inp []float32)
	geluBack   func(dinp, inp, dout []float32)
	swiglu     func(out, gate, up []float32)
	swigluBack func(dgate, dup, dout, gate, up []float32)
}

// maxTile bounds mr·nr over all kernels, for the buffer edge tiles are
// computed into.
const maxTile = 8 * 32

var (
	kernels []*kernel // available on this CPU, preferred first
	current atomic.Pointer[kernel]
)

// init lists the kernels this CPU can run: the architecture's own
// (archKernels, from the per-architecture files) ahead of the portable one.
func init() {
	kernels = append(archKernels(), genericKernel)
	current.Store(kernels[0])
}

// Kernel reports the name of the kernel family in use, e.g. "avx2-fma" or
// "generic".
func Kernel() string { return current.Load().name }

// useKernel switches to the named kernel and reports whether it is
// available; tests and benchmarks use it to cover every path.
func useKernel(name string) bool {
	for _, k := range kernels {
		if k.name == name {
			current.Store(k)
			return true
		}
	}
	return false
}
