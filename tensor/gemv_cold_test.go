package tensor

import (
	"fmt"
	"testing"
)

// BenchmarkGemvCold times one-row products over a model's worth of weight
// matrices (each used once per pass, as in decoding, so they come from
// memory, not cache): the layer shapes of stories110M, 12 layers, with the
// two-stream kernel off and on.
func BenchmarkGemvCold(b *testing.B) {
	for _, two := range []bool{false, true} {
		b.Run(fmt.Sprintf("twostreams=%v", two), func(b *testing.B) {
			defer func(v bool) { gemvTwoStreams = v }(gemvTwoStreams)
			gemvTwoStreams = two
			shapes := [][2]int{{2304, 768}, {768, 768}, {2048, 768}, {2048, 768}, {768, 2048}}
			var ws [][]float32
			var ns []int
			bytes := 0
			for l := 0; l < 12; l++ {
				for _, s := range shapes {
					w := make([]float32, s[0]*s[1])
					for i := range w {
						w[i] = float32(i%7) * 0.01
					}
					ws = append(ws, w)
					ns = append(ns, s[0])
					bytes += 4 * len(w)
				}
			}
			x := make([]float32, 2048)
			c := make([]float32, 2304)
			b.SetBytes(int64(bytes))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j, w := range ws {
					n := ns[j]
					k := len(w) / n
					Gemm(false, true, 1, n, k, 1, x[:k], k, w, k, 0, c[:n], n)
				}
			}
		})
	}
}
