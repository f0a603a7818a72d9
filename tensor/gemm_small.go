package tensor

// gemmSmallM handles m <= smallM rows without packing. With transB (the
// decoding shape y = x·Wᵀ, W stored n×k) every output is a dot product of
// an input row with a row of W; each row of W is read from memory once and
// used for all m inputs, so the loop runs at memory bandwidth. Without
// transB each row of B is added, scaled, into the outputs (axpy). Threads
// take chunks of the n outputs from a shared counter. Several rows with
// transB go to gemmGemv's register-tiled kernel instead.
func gemmSmallM(kn *kernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transB && m > 1 {
		gemmGemv(kn, transA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// Rows of op(A), contiguous: gathered from the columns of A if transA.
	var rows [smallM][]float32
	if buf := opARows(transA, m, k, a, lda, rows[:m]); buf != nil {
		defer aPool.Put(buf)
	}
	x := rows[:m]

	t := threadsFor(2 * m * n * k)
	if transB {
		// One row is bound by memory, not FMAs: split by weights read.
		t = max(1, min(Threads(), n*k/gemvMinWeights))
	}
	var chunk int
	if transB {
		chunk = max(16, roundUp(ceilDiv(n, 8*t), 4))
	} else {
		chunk = max(256, roundUp(ceilDiv(n, 4*t), 16))
	}
	parallelChunks(n, chunk, t, func(j0, j1 int) {
		if transB {
			gemvRow1(kn, x[0], j0, j1, alpha, b, ldb, beta, c)
		} else {
			axpyRows(kn, x, j0, j1, k, alpha, b, ldb, beta, c, ldc)
		}
	})
}

// axpyRows sets columns [j0, j1) of c[i] = alpha·x[i]·B + beta·c[i] by
// adding x[i][p]·B[p] for each row p of B, so each row segment of B is
// loaded once for all m inputs.
func axpyRows(kn *kernel, x [][]float32, j0, j1, k int, alpha float32, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range x {
		y := c[i*ldc+j0 : i*ldc+j1]
		if beta == 0 {
			clear(y)
		} else if beta != 1 {
			for j := range y {
				y[j] *= beta
			}
		}
	}
	for p := 0; p < k; p++ {
		brow := b[p*ldb+j0 : p*ldb+j1]
		for i, xi := range x {
			kn.axpy(alpha*xi[p], brow, c[i*ldc+j0:i*ldc+j1])
		}
	}
}

// opARows points rows[i] at row i of op(A) (m×k). Without transA these are
// views into a; with it the columns of A are gathered into a pooled buffer,
// which is returned so the caller can give it back to aPool when done.
func opARows(transA bool, m, k int, a []float32, lda int, rows [][]float32) *[]float32 {
	if !transA {
		for i := 0; i < m; i++ {
			rows[i] = a[i*lda : i*lda+k]
		}
		return nil
	}
	buf := getBuf(&aPool, m*k)
	for i := 0; i < m; i++ {
		r := (*buf)[i*k : i*k+k]
		for p := range r {
			r[p] = a[p*lda+i]
		}
		rows[i] = r
	}
	return buf
}
