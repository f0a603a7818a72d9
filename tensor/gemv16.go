package tensor

// The outer-product form of the few-rows product y = x·Wᵀ for 9 to 16 rows
// (batched decoding of 9 to 16 sequences). The rows of x are packed
// k-major, sixteen values per step, once per call (a few KiB); then each
// tile of six W rows, read straight from memory, is multiplied against
// them step by step: a W value broadcast times sixteen x values, twelve
// accumulators, and no horizontal sums, which the dot-product tiles of
// gemvRows spend about a fifth of their time on at a model width of a few
// hundred.

// gemvOuterMinM is the fewest rows that take the outer-product kernel:
// below it half of every FMA would be padding.
const gemvOuterMinM = 9

// gemvOuterTile is the number of W rows per outer-product tile.
const gemvOuterTile = 6

// gemvOuterChunk is how many tiles a thread takes at a time: about two
// chunks per thread, at most 256 tiles (1.7 MB at stories15M's width). A
// chunk's first tile comes from memory unprefetched, so chunks of a few
// tiles stall often: over stories15M's layer products at 16 rows, a pass
// took 1.66–2.65 ms in chunks of tiles/(2t) against 1.80–2.87 in chunks of
// tiles/(8t). The cap keeps several chunks in the 5333-tile classifier, so
// that a thread that loses its core holds up one chunk, not half the work.
func gemvOuterChunk(tiles, threads int) int {
	return max(2, min(256, ceilDiv(tiles, 2*threads)))
}

// gemmGemvOuter is gemmGemv for gemvOuterMinM ≤ m ≤ 16, alpha = 1, beta 0
// or 1, k even, on a kernel with gemv6x16. Threads take chunks of tiles from a
// shared counter; the last n mod 6 rows of W go through gemvRows.
func gemmGemvOuter(kn *kernel, transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	var xr [gemvMaxRows][]float32
	if buf := opARows(transA, m, k, a, lda, xr[:m]); buf != nil {
		defer aPool.Put(buf)
	}
	// Pack x k-major with packBT16 (an 8×8-transposing pack on amd64) from
	// sixteen rows: a's own when there are sixteen and not transposed, else
	// a copy padded with zero rows.
	xpBuf := getBuf(&cPool, 32*k)
	defer cPool.Put(xpBuf)
	xp, src, lds := (*xpBuf)[:16*k], a, lda
	if transA || m < 16 {
		src, lds = (*xpBuf)[16*k:32*k], k
		for i := range 16 {
			if i < m {
				copy(src[i*k:(i+1)*k], xr[i])
			} else {
				clear(src[i*k : (i+1)*k])
			}
		}
	}
	packBT16(xp, src, lds, k)
	acc := beta == 1
	tiles := n / gemvOuterTile
	t := threadsFor(2 * m * n * k)
	parallelChunks(tiles, gemvOuterChunk(tiles, t), t, func(t0, t1 int) {
		j0 := t0 * gemvOuterTile
		kn.gemv6x16(k, t1-t0, b[j0*ldb:], ldb, xp, c[j0:], ldc, acc, m)
	})
	if j := tiles * gemvOuterTile; j < n {
		rows := roundUp(m, gemvGroup)
		for i := m; i < rows; i++ {
			xr[i] = xr[m-1]
		}
		var out [4 * gemvMaxRows]float32
		gemvRows(kn, xr[:rows], m, j, n, k, 1, b, ldb, beta, c, ldc, out[:4*rows])
	}
}
