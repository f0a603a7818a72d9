//go:build amd64 && !purego

package tensor

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasF16C reports whether the CPU converts halves (VCVTPH2PS, VCVTPS2PH).
var hasF16C = cpu.X86.HasF16C

// halfKernel reports whether the fp16 kernels run: F16C with an AVX2 or
// AVX-512 kernel selected (so tests that select the portable kernel test
// the Go loops).
func halfKernel() bool { return hasF16C && usesAVX2(current.Load()) }

//go:noescape
func sf32to16(n8 int, src *float32, dst *uint16)

//go:noescape
func sf16to32(n8 int, src *uint16, dst *float32)

//go:noescape
func smatvec8hp(k8, blocks int, x *float32, w *uint16, ldw int, out *float32, pf *uint16, pflines int)

//go:noescape
func svecmath(n8, rows int, a *float32, w *uint16, ldw int, out *float32)

func f32to16(n8 int, src []float32, dst []uint16) {
	sf32to16(n8, unsafe.SliceData(src[:n8]), unsafe.SliceData(dst[:n8]))
}

func f16to32(n8 int, src []uint16, dst []float32) {
	sf16to32(n8, unsafe.SliceData(src[:n8]), unsafe.SliceData(dst[:n8]))
}

// matvec8h sets out[j] = x[:k8] · w_j[:k8] for j < 8·blocks.
func matvec8h(k8, blocks int, x []float32, w []uint16, ldw int, out []float32) {
	r8 := 8 * blocks
	w = w[:(r8-1)*ldw+k8]
	smatvec8hp(k8, blocks, unsafe.SliceData(x[:k8]), unsafe.SliceData(w), ldw, unsafe.SliceData(out[:r8]), nil, 0)
}

// matvec8hp is matvec8h prefetching next evenly across the blocks.
func matvec8hp(k8, blocks int, x []float32, w []uint16, ldw int, out []float32, next []uint16) {
	r8 := 8 * blocks
	w = w[:(r8-1)*ldw+k8]
	lines := max(1, ceilDiv(2*len(next), 64*blocks))
	smatvec8hp(k8, blocks, unsafe.SliceData(x[:k8]), unsafe.SliceData(w), ldw, unsafe.SliceData(out[:r8]), unsafe.SliceData(next), lines)
}

// vecmath sets out[:n8] = Σ_t a[t]·w_t[:n8].
func vecmath(n8 int, a []float32, w []uint16, ldw int, out []float32) {
	w = w[:(len(a)-1)*ldw+n8]
	svecmath(n8, len(a), unsafe.SliceData(a), unsafe.SliceData(w), ldw, unsafe.SliceData(out[:n8]))
}

//go:noescape
func sdoth(k8 int, x *float32, w *uint16) float32

// doth returns x[:k8] · w[:k8].
func doth(k8 int, x []float32, w []uint16) float32 {
	return sdoth(k8, unsafe.SliceData(x[:k8]), unsafe.SliceData(w[:k8]))
}
