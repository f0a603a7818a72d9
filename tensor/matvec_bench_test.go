package tensor

import "testing"

// BenchmarkAttentionHelpers times MatVec and VecMat on one attention
// head's keys or values (128 positions of head size 48, stories15M), hot in
// cache and cold (cycling through 16 sequences × 36 heads of a KV cache).
func BenchmarkAttentionHelpers(b *testing.B) {
	const L, hd, heads = 128, 48, 16 * 36
	kv := make([]float32, heads*256*hd)
	for i := range kv {
		kv[i] = float32(i%13) * 0.01
	}
	x := make([]float32, hd)
	s := make([]float32, L)
	for _, cold := range []bool{false, true} {
		name := "hot"
		if cold {
			name = "cold"
		}
		b.Run("MatVec/"+name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				h := 0
				if cold {
					h = i % heads
				}
				MatVec(x, kv[h*256*hd:], hd, s)
			}
			b.ReportMetric(float64(2*L*hd)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		b.Run("VecMat/"+name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				h := 0
				if cold {
					h = i % heads
				}
				VecMat(s, kv[h*256*hd:], hd, x)
			}
			b.ReportMetric(float64(2*L*hd)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
