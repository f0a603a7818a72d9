package tensor

import "testing"

// FuzzGemm checks Gemm against gemmRef on fuzzer-chosen shapes, transposes,
// paddings and scalars, with every kernel and 1 or 3 threads. Sizes are
// capped so an input runs in well under a millisecond.
func FuzzGemm(f *testing.F) {
	f.Add(uint8(7), uint8(13), uint16(29), uint8(0), uint8(0), int8(2), int8(0))
	f.Add(uint8(1), uint8(200), uint16(300), uint8(3), uint8(5), int8(1), int8(1))
	f.Add(uint8(40), uint8(17), uint16(257), uint8(1), uint8(2), int8(-1), int8(3))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, flags, pad uint8, alpha, beta int8) {
		g := gemmCase{
			m: int(m%64) + 1, n: int(n%80) + 1, k: int(k % 600),
			transA: flags&1 != 0, transB: flags&2 != 0,
			alpha: float32(alpha) / 4, beta: float32(beta) / 4,
			pad: int(pad % 9),
		}
		threads := 1 + 2*int(flags>>2&1)
		a, lda, b, ldb, c0, ldc := gemmInputs(g, int64(flags)<<8|int64(pad))
		want, bound := gemmExpect(g, a, lda, b, ldb, c0, ldc)
		forEachKernel(t, func(kn *kernel) {
			withThreads(threads, func() {
				got := append([]float32(nil), c0...)
				Gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, got, ldc)
				checkGemmResult(t, g, want, bound, got, ldc)
			})
		})
	})
}
