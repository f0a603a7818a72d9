//go:build amd64 && !purego

package tensor

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The AVX2+FMA kernel: a 6×16 micro-kernel holding the C tile in 12 ymm
// accumulators (as BLIS's haswell kernel), and 8-wide dot and axpy loops.
// Blocking for Zen3: a 256×16 B panel (16 KiB) plus a 6×256 A panel
// (6 KiB) fit the 32 KiB L1; a 144×256 A block (144 KiB) fits the 512 KiB
// L2; the 256×4096 B block (4 MiB) sits in the shared 32 MiB L3, or, when
// A is packed once up front, a 256×1024 block (1 MiB) mostly in L2.
var avx2Kernel = &kernel{
	name: "avx2-fma",
	mr:   6, nr: 16,
	kc: 256, mc: 144, nc: 4096, ncCachedA: 1024,
	micro: microAVX2,
	dot:   dotAVX2,
	axpy:  axpyAVX2,
	scal:  scalAVX2,

	max:        maxAVX2,
	expSum:     expSumAVX2,
	gelu:       geluAVX2,
	geluBack:   geluBackAVX2,
	swiglu:     swigluAVX2,
	swigluBack: swigluBackAVX2,

	gemv6x16:    gemv6x16AVX2,
	sumsAtLeast: sumsAtLeastAVX2,
	indicesIn:   indicesInAVX2,
}

// hasAVX2 reports whether the CPU and OS support AVX2 and FMA3.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func archKernels() []*kernel {
	if !hasAVX2 {
		return nil
	}
	packBT16 = packBT16AVX2
	packRowsB16 = packRowsB16AVX2
	packRowsAT6 = packRowsAT6Asm
	packA6 = packA6AVX2
	if hasAVX512 {
		return []*kernel{avx512Kernel, avx2Kernel}
	}
	return []*kernel{avx2Kernel}
}

//go:noescape
func sgemm6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32, pf *float32)

//go:noescape
func sdot(n int, a, b *float32) float32

//go:noescape
func saxpy(n int, alpha float32, x, y *float32)

//go:noescape
func sscal(n int, alpha float32, x *float32)

// transpose16 packs kc (a multiple of 16) columns of 16 rows k-major.
//
//go:noescape
func transpose16(kc int, src *float32, ldb int, dst *float32)

func microAVX2(kc int, a, b, c []float32, ldc int, alpha, beta float32, next []float32) {
	a = a[:6*kc]
	b = b[:16*kc]
	c = c[:5*ldc+16]
	sgemm6x16(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, alpha, beta, unsafe.SliceData(next))
}

func dotAVX2(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	return sdot(len(a), unsafe.SliceData(a), unsafe.SliceData(b))
}

func axpyAVX2(alpha float32, x, y []float32) {
	if len(x) == 0 {
		return
	}
	y = y[:len(x)]
	saxpy(len(x), alpha, unsafe.SliceData(x), unsafe.SliceData(y))
}

func scalAVX2(alpha float32, x []float32) {
	if len(x) > 0 {
		sscal(len(x), alpha, unsafe.SliceData(x))
	}
}

func packBT16AVX2(d, b []float32, ldb, kc int) {
	d = d[:16*kc]
	b = b[:15*ldb+kc]
	k8 := kc &^ 15
	if k8 > 0 {
		transpose16(k8, unsafe.SliceData(b), ldb, unsafe.SliceData(d))
	}
	for jj := 0; jj < 16; jj++ {
		src := b[jj*ldb+k8 : jj*ldb+kc]
		for p, v := range src {
			d[(k8+p)*16+jj] = v
		}
	}
}

//go:noescape
func packRows16(kc, panels int, src *float32, ldb int, dst *float32)

func packRowsB16AVX2(d, b []float32, ldb, kc, panels int) {
	d = d[:16*kc*panels]
	b = b[:(kc-1)*ldb+16*panels]
	packRows16(kc, panels, unsafe.SliceData(b), ldb, unsafe.SliceData(d))
}

//go:noescape
func packAT6(kc, panels int, src *float32, lda int, dst *float32)

func packRowsAT6Asm(d, a []float32, lda, kc, panels int) {
	d = d[:6*kc*panels]
	a = a[:(kc-1)*lda+6*panels]
	packAT6(kc, panels, unsafe.SliceData(a), lda, unsafe.SliceData(d))
}

//go:noescape
func packA6T(kc int, src *float32, lda int, dst *float32)

func packA6AVX2(d, a []float32, lda, i, p0, kc int) {
	k8 := kc &^ 7
	if k8 > 0 {
		_ = d[6*k8-1]
		_ = a[(i+5)*lda+p0+k8-1]
		packA6T(k8, unsafe.SliceData(a[i*lda+p0:]), lda, unsafe.SliceData(d))
	}
	if k8 < kc {
		packA6Go(d[6*k8:], a, lda, i, p0+k8, kc-k8)
	}
}
