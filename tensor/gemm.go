package tensor

import "fmt"

// Gemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(X) is X or its transpose. op(A) is m×k, op(B) is k×n and C is m×n; lda,
// ldb and ldc are the row strides of A, B and C as stored. beta == 0 means C
// is overwritten (its old contents, even NaN, are ignored), as in BLAS.
//
// The transformer uses three shapes: forward out = in·Wᵀ (transB), the input
// gradient din += dout·W, and the weight gradient dW += doutᵀ·in (transA).
//
// Sizes are checked against the slices first (the kernels are assembly and
// must not run off the end); a mismatch is a programming error and panics.
// Large products are packed and blocked for the caches and run on Threads()
// goroutines with the kernel Kernel() names; a few rows against a transposed
// B (token-by-token decoding, y = x·Wᵀ) run as parallel dot products over
// the rows of W, which is what bounds generation speed.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	kn := current.Load()
	switch {
	case m <= gemvMaxM && transB, m <= smallMAxpy:
		gemmSmallM(kn, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	case m*n*k <= directWork:
		gemmDirect(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	default:
		gemmPacked(kn, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

const (
	// smallM bounds the rows handled without packing: as dot products
	// against the rows of a transposed B up to gemvMaxM rows, as axpys
	// over the rows of B up to smallMAxpy; above them (measured on Zen3)
	// the packed kernel's register reuse wins.
	smallM, smallMAxpy = 8, 3
	// directWork is the m·n·k below which packing costs more than it saves.
	directWork = 16 * 16 * 16
)

// checkGemm panics unless the slices hold the matrices the sizes describe.
func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("tensor.Gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	check := func(name string, rows, cols int, s []float32, ld int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols {
			panic(fmt.Sprintf("tensor.Gemm: ld%s=%d < %d columns", name, ld, cols))
		}
		if need := (rows-1)*ld + cols; len(s) < need {
			panic(fmt.Sprintf("tensor.Gemm: len(%s)=%d < %d for %dx%d with ld %d", name, len(s), need, rows, cols, ld))
		}
	}
	if transA {
		check("a", k, m, a, lda)
	} else {
		check("a", m, k, a, lda)
	}
	if transB {
		check("b", n, k, b, ldb)
	} else {
		check("b", k, n, b, ldb)
	}
	check("c", m, n, c, ldc)
}

// scaleC does C = beta*C, with beta == 0 clearing C (NaN included).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemmDirect is the unpacked loop for products too small to amortise
// packing.
func gemmDirect(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sa, sp := lda, 1 // strides of op(A) along i and p
	if transA {
		sa, sp = 1, lda
	}
	tb, tp := 1, ldb // strides of op(B) along j and p
	if transB {
		tb, tp = ldb, 1
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			var s float32
			ai, bj := i*sa, j*tb
			for p := 0; p < k; p++ {
				s += a[ai+p*sp] * b[bj+p*tp]
			}
			if beta == 0 {
				row[j] = alpha * s
			} else {
				row[j] = alpha*s + beta*row[j]
			}
		}
	}
}

// gemmRef is the plain triple loop every faster kernel is tested against.
func gemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
