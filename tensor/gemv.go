package tensor

// The few-rows product y = x·Wᵀ for 2 ≤ m ≤ gemvMaxM rows x (batched
// decoding): W, stored n×k, is streamed three rows at a time straight from
// memory, with no packing, and each tile of three rows is dotted against
// the m inputs, four at a time (so sixteen rows make whole groups), while
// it sits in L1. Every weight is read from memory once per call, the inner
// loop does twelve FMAs per seven loads, and the next tile is prefetched
// evenly while this one is computed, so memory and FMAs overlap. From
// gemvOuterMinM rows, kernels that have one take the outer-product form of
// gemv16.go instead.

// gemvMaxM is the most rows that take this path; above it the packed
// kernel's larger register tile wins.
const gemvMaxM = 16

const (
	gemvGroup   = 4                                                  // rows of x per kernel pass
	gemvTileN   = 3                                                  // rows of W per tile
	gemvMaxRows = (gemvMaxM + gemvGroup - 1) / gemvGroup * gemvGroup // x rows after padding
)

// gemvMinWeights is the size of W per thread (floats, 128 KiB) below which
// a one-row product runs on fewer threads: a smaller share does not repay
// the hand-off. At 256 KiB stories15M's 288×288 attention output ran on
// one thread, 27 µs per layer; split, it takes 20. (A variable so tests can
// split tiny products.)
var gemvMinWeights = 1 << 15

// gemmGemv computes C = alpha·op(A)·Bᵀ + beta·C for 2 ≤ m ≤ gemvMaxM, B
// stored n×k. The rows of op(A) (gathered into a buffer if transA) are
// padded to a multiple of gemvGroup by repeating the last; threads take
// chunks of the n outputs from a shared counter.
func gemmGemv(kn *kernel, transA bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m >= gemvOuterMinM && kn.gemv6x16 != nil && alpha == 1 && (beta == 0 || beta == 1) && k%2 == 0 && n >= gemvOuterTile {
		gemmGemvOuter(kn, transA, m, n, k, a, lda, b, ldb, beta, c, ldc)
		return
	}
	var xr [gemvMaxRows][]float32
	if buf := opARows(transA, m, k, a, lda, xr[:m]); buf != nil {
		defer aPool.Put(buf)
	}
	rows := roundUp(m, gemvGroup)
	for i := m; i < rows; i++ {
		xr[i] = xr[m-1] // padding: its results are dropped
	}
	x := xr[:rows]

	t := threadsFor(2 * m * n * k)
	chunk := max(4*gemvTileN, roundUp(ceilDiv(n, 8*t), gemvTileN))
	parallelChunks(n, chunk, t, func(j0, j1 int) {
		var out [4 * gemvMaxRows]float32
		gemvRows(kn, x, m, j0, j1, k, alpha, b, ldb, beta, c, ldc, out[:4*rows])
	})
}

// gemvRows sets c[i][j] = alpha·x_i·w_j + beta·c[i][j] for j in [j0, j1)
// and the first m rows x_i of x (len(x) a multiple of gemvGroup); beta == 0
// ignores c. out is scratch for one tile, 4·len(x) long.
func gemvRows(kn *kernel, x [][]float32, m, j0, j1, k int, alpha float32, w []float32, ldw int, beta float32, c []float32, ldc int, out []float32) {
	j := j0
	const tn = gemvTileN
	if alpha == 1 && (beta == 0 || beta == 1) {
		for j+tn <= j1 {
			tiles := min(gemvTilesMax, (j1-j)/tn)
			if !gemvTiles(kn, k, x, m, w, ldw, c, ldc, j, tiles, beta == 1) {
				break
			}
			j += tn * tiles
		}
	}
	for ; j+tn <= j1; j += tn {
		wj := w[j*ldw : (j+tn-1)*ldw+k]
		var next []float32
		if j+2*tn <= j1 {
			next = w[(j+tn)*ldw : (j+2*tn-1)*ldw+k]
		}
		gemvTile(kn, k, x, wj, ldw, out, next)
		for i := 0; i < m; i++ {
			s := out[i*4 : i*4+tn]
			cr := c[i*ldc+j : i*ldc+j+tn]
			if beta == 0 {
				for r := range cr {
					cr[r] = alpha * s[r]
				}
			} else {
				for r := range cr {
					cr[r] = alpha*s[r] + beta*cr[r]
				}
			}
		}
	}
	for ; j < j1; j++ {
		wj := w[j*ldw : j*ldw+k]
		for i := 0; i < m; i++ {
			v := kn.dot(x[i], wj)
			if beta == 0 {
				c[i*ldc+j] = alpha * v
			} else {
				c[i*ldc+j] = alpha*v + beta*c[i*ldc+j]
			}
		}
	}
}

// gemvTileGo is the portable gemvTile.
func gemvTileGo(k int, x [][]float32, w []float32, ldw int, out []float32) {
	clear(out[:4*len(x)])
	gemvTileTail(0, k, x, w, ldw, out)
}

// gemvTileTail adds the products over [p0, k) to out.
func gemvTileTail(p0, k int, x [][]float32, w []float32, ldw int, out []float32) {
	for i, xi := range x {
		xi = xi[:k]
		for r := 0; r < gemvTileN; r++ {
			wr := w[r*ldw : r*ldw+k]
			var s float32
			for p := p0; p < k; p++ {
				s += xi[p] * wr[p]
			}
			out[i*4+r] += s
		}
	}
}

// gemv1Go is the portable gemv1.
func gemv1Go(kn *kernel, x, w []float32, ldw int, out []float32) {
	k := len(x)
	for j := range out {
		out[j] = kn.dot(x, w[j*ldw:j*ldw+k])
	}
}

// gemvRow1 sets c[j] = alpha·x·w_j + beta·c[j] for j in [j0, j1): the
// single-row product, bound by memory bandwidth. The rows are split in two
// halves read side by side (two sequential streams of W): on Zen3 one core
// streams about 10 GB/s from one stream and about 15 from two, and decoding
// a 110M model reads 440 MB of weights per token.
func gemvRow1(kn *kernel, x []float32, j0, j1 int, alpha float32, w []float32, ldw int, beta float32, c []float32) {
	var buf [64]float32
	if half := (j1 - j0) / 2; half >= 16 && gemvTwoStreams {
		var buf1 [64]float32
		mid := j0 + half
		for d := 0; d < half; d += len(buf) {
			n := min(len(buf), half-d)
			a, b := j0+d, mid+d
			if !gemv1x2(kn, x, w[a*ldw:], w[b*ldw:], ldw, buf[:n], buf1[:n]) {
				break
			}
			scaleInto(c[a:a+n], buf[:n], alpha, beta)
			scaleInto(c[b:b+n], buf1[:n], alpha, beta)
			if d+n == half {
				j0 = mid + half // the odd row, if any, is left
			}
		}
	}
	for j := j0; j < j1; j += len(buf) {
		out := buf[:min(len(buf), j1-j)]
		gemv1(kn, x, w[j*ldw:], ldw, out)
		cr := c[j : j+len(out)]
		if beta == 0 {
			for r := range cr {
				cr[r] = alpha * out[r]
			}
		} else {
			for r := range cr {
				cr[r] = alpha*out[r] + beta*cr[r]
			}
		}
	}
}

// gemvTwoStreams enables the two-stream one-row kernel (a variable for
// benchmarks).
var gemvTwoStreams = true

// scaleInto sets c = alpha·out + beta·c (beta == 0 ignores c).
func scaleInto(c, out []float32, alpha, beta float32) {
	if beta == 0 {
		for r := range c {
			c[r] = alpha * out[r]
		}
		return
	}
	for r := range c {
		c[r] = alpha*out[r] + beta*c[r]
	}
}
