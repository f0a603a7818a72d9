//go:build amd64 && !purego

package tensor

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The AVX-512 kernel: the AVX2 kernel with a 16-wide sgemm micro-kernel
// (sgemm6x16z). It keeps the 6×16 register tile, so the packed panels,
// their AVX2 packing routines and the cache blocking are shared; a C row
// is one zmm, and even and odd k steps accumulate apart to keep twelve
// FMA chains in flight. Each k step issues seven loads for six FMAs (the
// B row and six broadcast A values), which caps it near 85% of a
// two-FMA-port core's 16-wide peak, against 50% for the 8-wide kernel.
// The 9-to-16-row outer product (batched decoding), which needs
// arithmetic and memory bandwidth in about equal measure, has a 16-wide
// version too. The vector primitives, the one-to-eight-row products and
// the fp16 attention kernels are the AVX2 ones: they are bound by memory,
// not arithmetic.
var avx512Kernel = func() *kernel {
	k := *avx2Kernel
	k.name = "avx512"
	k.micro = microAVX512
	k.gemv6x16 = gemv6x16AVX512
	return &k
}()

// hasAVX512 reports whether the CPU and OS support AVX-512F (x/sys/cpu
// checks that the OS saves the zmm and opmask state) on top of AVX2+FMA.
var hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F

// usesAVX2 reports whether kn runs the AVX2 assembly paths (the AVX2 and
// the AVX-512 kernels do; the portable one does not).
func usesAVX2(kn *kernel) bool { return kn == avx2Kernel || kn == avx512Kernel }

//go:noescape
func sgemm6x16z(kc int, a, b, c *float32, ldc int, alpha, beta float32, pf *float32)

//go:noescape
func fmaLoop512(iters int)

func microAVX512(kc int, a, b, c []float32, ldc int, alpha, beta float32, next []float32) {
	a = a[:6*kc]
	b = b[:16*kc]
	c = c[:5*ldc+16]
	sgemm6x16z(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, alpha, beta, unsafe.SliceData(next))
}

// gemv6x16AVX512 is gemv6x16 on the AVX-512 kernel: sixteen x rows are one
// zmm, so each k step is six FMAs where the AVX2 kernel needs twelve.
func gemv6x16AVX512(k, tiles int, w []float32, ldw int, xp []float32, c []float32, ldc int, acc bool, m int) {
	gemv6x16Asm(true, k, tiles, w, ldw, xp, c, ldc, acc, m)
}
