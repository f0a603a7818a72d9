package tensor

import (
	"math/rand"
	"testing"
)

// Benchmarks of the non-matmul kernels at GPT-2 124M shapes (B·T = 256),
// per kernel family, reported per element so they compare with the Gemm
// figures: the matmuls dominate, these must stay well below them.

func benchKernels(b *testing.B, fn func(b *testing.B)) {
	saved := current.Load()
	defer current.Store(saved)
	for _, kn := range kernels {
		current.Store(kn)
		b.Run(kn.name, fn)
	}
}

func reportPerElem(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
}

func BenchmarkGELU(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	n := 256 * 3072
	x, dout, out, dinp := randSlice(rng, n), randSlice(rng, n), make([]float32, n), make([]float32, n)
	b.Run("fwd", func(b *testing.B) {
		benchKernels(b, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				GELUForward(out, x)
			}
			reportPerElem(b, n)
		})
	})
	b.Run("bwd", func(b *testing.B) {
		benchKernels(b, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				GELUBackward(dinp, x, dout)
			}
			reportPerElem(b, n)
		})
	})
}

func BenchmarkSwiGLU(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	n := 256 * 2048
	g, u, dout, out := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n), make([]float32, n)
	dg, du := make([]float32, n), make([]float32, n)
	b.Run("fwd", func(b *testing.B) {
		benchKernels(b, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				SwiGLUForward(out, g, u)
			}
			reportPerElem(b, n)
		})
	})
	b.Run("bwd", func(b *testing.B) {
		benchKernels(b, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				SwiGLUBackward(dg, du, dout, g, u)
			}
			reportPerElem(b, n)
		})
	})
}

func BenchmarkSoftmax(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{256, 50257} {
		x := randSlice(rng, n)
		w := make([]float32, n)
		b.Run("n="+itoa(n), func(b *testing.B) {
			benchKernels(b, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					copy(w, x)
					Softmax(w)
				}
				reportPerElem(b, n)
			})
		})
	}
	x := randSlice(rng, 50257)
	b.Run("logsumexp/n=50257", func(b *testing.B) {
		benchKernels(b, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				LogSumExp(x)
			}
			reportPerElem(b, len(x))
		})
	})
}

func BenchmarkLayerNorm(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	rows, dim := 256, 768
	n := rows * dim
	x, w, bias, dout := randSlice(rng, n), randSlice(rng, dim), randSlice(rng, dim), randSlice(rng, n)
	out, mean, rstd := make([]float32, n), make([]float32, rows), make([]float32, rows)
	dinp, dw, db := make([]float32, n), make([]float32, dim), make([]float32, dim)
	b.Run("fwd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			LayerNormForward(out, mean, rstd, x, w, bias, rows, dim, 1e-5)
		}
		reportPerElem(b, n)
	})
	b.Run("bwd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			LayerNormBackward(dinp, dw, db, dout, x, w, mean, rstd, rows, dim)
		}
		reportPerElem(b, n)
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}
