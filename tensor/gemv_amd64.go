//go:build amd64 && !purego

package tensor

import "unsafe"

//go:noescape
func sgemv43(k8, groups int, xs **float32, w *float32, ldw int, out, pf *float32, pfstep int)

// gemvTile sets out[4*i+r] = x_i · w_r for the rows x_i of x (a multiple
// of gemvGroup, at most gemvMaxRows) and the gemvTileN rows w_r of w (row
// stride ldw), each of length k; the AVX2 kernel runs the multiple of 8 and
// Go the rest. A non-empty pf (the next tile of w) is prefetched meanwhile.
func gemvTile(kn *kernel, k int, x [][]float32, w []float32, ldw int, out, pf []float32) {
	k8 := k &^ 7
	if kn != avx2Kernel || k8 == 0 {
		gemvTileGo(k, x, w, ldw, out)
		return
	}
	var xp [gemvMaxRows]*float32
	for i, r := range x {
		xp[i] = unsafe.SliceData(r[:k])
	}
	out = out[:4*len(x)]
	w = w[:(gemvTileN-1)*ldw+k]
	groups := len(x) / gemvGroup
	var pfp *float32
	var step int
	if len(pf) > 0 {
		// Spread the next tile's bytes over every step of every group.
		pfp = unsafe.SliceData(pf)
		iters := groups * (k8 / 8)
		step = min(128, (4*gemvTileN*ldw+iters-1)/iters)
	}
	sgemv43(k8, groups, &xp[0], unsafe.SliceData(w), ldw, unsafe.SliceData(out), pfp, step)
	if k8 < k {
		gemvTileTail(k8, k, x, w, ldw, out)
	}
}

//go:noescape
func sgemv1(k8, rows int, x, w *float32, ldw int, out *float32)

// gemv1 sets out[j] = x · w_j for the len(out) rows of w (row stride ldw),
// each of length len(x).
func gemv1(kn *kernel, x, w []float32, ldw int, out []float32) {
	k := len(x)
	k8 := k &^ 7
	if kn != avx2Kernel || k8 == 0 || len(out) == 0 {
		gemv1Go(kn, x, w, ldw, out)
		return
	}
	w = w[:(len(out)-1)*ldw+k]
	sgemv1(k8, len(out), unsafe.SliceData(x), unsafe.SliceData(w), ldw, unsafe.SliceData(out))
	if k8 < k {
		for j := range out {
			out[j] += dotGeneric(x[k8:], w[j*ldw+k8:j*ldw+k])
		}
	}
}
