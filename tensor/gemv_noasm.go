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
