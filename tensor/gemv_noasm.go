//go:build !amd64 || purego

package tensor

// gemvTile sets out[4*i+r] = x_i · w_r for the rows x_i of x and the
// gemvTileN rows w_r of w (row stride ldw), each of length k, with the
// portable loop.
func gemvTile(_ *kernel, k int, x [][]float32, w []float32, ldw int, out, _ []float32) {
	gemvTileGo(k, x, w, ldw, out)
}

// gemv1 sets out[j] = x · w_j for the len(out) rows of w (row stride ldw),
// each of length len(x).
func gemv1(kn *kernel, x, w []float32, ldw int, out []float32) {
	gemv1Go(kn, x, w, ldw, out)
}

// gemv1x2 is the two-stream gemv1; without assembly it declines.
func gemv1x2(kn *kernel, x, w0, w1 []float32, ldw int, out0, out1 []float32) bool { return false }

// vecmat is VecMat's kernel.
func vecmat(kn *kernel, a, w []float32, ldw int, out []float32) { vecmatGo(kn, a, w, ldw, out) }

// gemvTilesMax bounds the tiles of one gemvTiles call.
const gemvTilesMax = 64

// gemvTiles has no portable kernel: gemvRows' tile loop does the work.
func gemvTiles(kn *kernel, k int, x [][]float32, m int, w []float32, ldw int, c []float32, ldc, j0, tiles int, acc bool) bool {
	return false
}

// matvec is MatVec's kernel.
func matvec(kn *kernel, x, w []float32, ldw int, out []float32) { gemv1(kn, x, w, ldw, out) }
