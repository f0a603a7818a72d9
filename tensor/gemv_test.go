package tensor

import (
	"fmt"
	"testing"
)

// TestGemvShapes checks the few-rows transB path (gemvRows behind Gemm and
// gemmSmallM) against gemmRef: m on both sides of the 3-row groups and of
// gemvMaxM, n and k odd and below and above the 4-row and 8-wide steps,
// every scalar case (beta = 0 with NaN in C), padded strides, one and
// several threads, every kernel.
func TestGemvShapes(t *testing.T) {
	defer func(saved int) { gemvMinWeights = saved }(gemvMinWeights)
	gemvMinWeights = 1
	ms := []int{1, 2, 3, 5, 8, 16, 17}
	// n = 200 runs more tiles than one kernel call takes; alpha = 1 with
	// beta = 0 or 1 (a layer's output, a residual add) is the kernel's
	// direct-store path.
	nks := [][2]int{{1, 1}, {3, 7}, {4, 8}, {13, 29}, {11, 40}, {37, 288}, {9, 771}, {200, 16}}
	scalars := append(append([][2]float32(nil), scalarCases...), [2]float32{1, 1})
	ci := 0
	for _, m := range ms {
		for ni, nk := range nks {
			for ai, ab := range scalars {
				if raceEnabled && (ni+ai)%3 != 0 {
					continue
				}
				ci++
				g := gemmCase{m, nk[0], nk[1], ai%2 == 1, true, ab[0], ab[1], (ni + ai) % 3 * 3}
				a, lda, b, ldb, c0, ldc := gemmInputs(g, int64(ci))
				want, bound := gemmExpect(g, a, lda, b, ldb, c0, ldc)
				forEachKernel(t, func(kn *kernel) {
					for _, threads := range []int{1, 2} {
						withThreads(threads, func() {
							t.Run(fmt.Sprintf("%s/t%d/%v", kn.name, threads, g), func(t *testing.T) {
								got := append([]float32(nil), c0...)
								Gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, got, ldc)
								checkGemmResult(t, g, want, bound, got, ldc)
								if m > gemvMaxM || g.alpha == 0 {
									return
								}
								got = append(got[:0], c0...)
								gemmSmallM(kn, g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, got, ldc)
								checkGemmResult(t, g, want, bound, got, ldc)
							})
						})
					}
				})
			}
		}
	}
}

// BenchmarkGemv times the decoding products y = x·Wᵀ for one and sixteen
// rows on the stories15M/110M and GPT-2 shapes and reports the weight
// bytes streamed per second.
func BenchmarkGemv(b *testing.B) {
	for _, m := range []int{1, 16} {
		for _, nk := range [][2]int{{32000, 288}, {768, 288}, {288, 288}, {2304, 768}, {768, 2048}, {32000, 768}} {
			n, k := nk[0], nk[1]
			b.Run(fmt.Sprintf("m%d/%dx%d", m, n, k), func(b *testing.B) {
				g := gemmCase{m: m, n: n, k: k, transB: true, alpha: 1}
				a, lda, w, ldw, c, ldc := gemmInputs(g, 1)
				b.SetBytes(int64(4 * n * k))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					Gemm(false, true, m, n, k, 1, a, lda, w, ldw, 0, c, ldc)
				}
				b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}
