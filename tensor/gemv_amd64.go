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
	if !usesAVX2(kn) || k8 == 0 {
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
	if !usesAVX2(kn) || k8 == 0 || len(out) == 0 {
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

//go:noescape
func sgemv1x2(k8, rows int, x, w0, w1 *float32, ldw int, out0, out1 *float32)

// gemv1x2 sets out0[j] = x · w0_j and out1[j] = x · w1_j for the len(out0)
// rows of w0 and of w1 (row stride ldw), each of length len(x): two
// streams of W read side by side.
func gemv1x2(kn *kernel, x, w0, w1 []float32, ldw int, out0, out1 []float32) bool {
	k := len(x)
	k8 := k &^ 7
	if !usesAVX2(kn) || k8 == 0 || len(out0) == 0 {
		return false
	}
	rows := len(out0)
	out1 = out1[:rows]
	w0 = w0[:(rows-1)*ldw+k]
	w1 = w1[:(rows-1)*ldw+k]
	sgemv1x2(k8, rows, unsafe.SliceData(x), unsafe.SliceData(w0), unsafe.SliceData(w1), ldw, unsafe.SliceData(out0), unsafe.SliceData(out1))
	if k8 < k {
		for j := range out0 {
			out0[j] += dotGeneric(x[k8:], w0[j*ldw+k8:j*ldw+k])
			out1[j] += dotGeneric(x[k8:], w1[j*ldw+k8:j*ldw+k])
		}
	}
	return true
}

//go:noescape
func svecmat(n8, rows int, a, w *float32, ldw int, out *float32)

// vecmat is VecMat's kernel: the AVX2 kernel does the columns in blocks of
// eight, Go the rest.
func vecmat(kn *kernel, a, w []float32, ldw int, out []float32) {
	n := len(out)
	n8 := n &^ 7
	if !usesAVX2(kn) || n8 == 0 {
		vecmatGo(kn, a, w, ldw, out)
		return
	}
	w = w[:(len(a)-1)*ldw+n]
	svecmat(n8, len(a), unsafe.SliceData(a), unsafe.SliceData(w), ldw, unsafe.SliceData(out))
	if n8 < n {
		for j := n8; j < n; j++ {
			var s float32
			for t, at := range a {
				s += at * w[t*ldw+j]
			}
			out[j] = s
		}
	}
}

//go:noescape
func sgemv43c(k8, groups, tiles int, ptrs **float32, w *float32, acc int, ldw, pfstep int)

// gemvTilesMax is the most tiles one sgemv43c call takes (so that the
// padding rows' outputs fit a scratch array on the stack).
const gemvTilesMax = 64

// gemvTiles sets (or, with acc, adds to) c[i*ldc+j] the products x_i · w_j
// for the first m rows of x (len(x) a multiple of gemvGroup) and the
// 3·tiles rows of w from row j0 (tiles ≤ gemvTilesMax), each of length k,
// with one kernel call. It reports false where there is no kernel for it.
func gemvTiles(kn *kernel, k int, x [][]float32, m int, w []float32, ldw int, c []float32, ldc, j0, tiles int, acc bool) bool {
	k8 := k &^ 7
	if !usesAVX2(kn) || k8 != k || tiles == 0 {
		return false
	}
	var ptrs [2 * gemvMaxRows]*float32
	var scratch [gemvTileN * gemvTilesMax]float32
	cols := gemvTileN * tiles
	for i, r := range x {
		ptrs[i] = unsafe.SliceData(r[:k])
		if i < m {
			ptrs[gemvMaxRows+i] = unsafe.SliceData(c[i*ldc+j0 : i*ldc+j0+cols])
		} else {
			ptrs[gemvMaxRows+i] = &scratch[0]
		}
	}
	w = w[j0*ldw : (j0+cols-1)*ldw+k]
	groups := len(x) / gemvGroup
	// Spread the next tile's bytes over every 8-wide step of every group.
	step := min(128, ceilDiv(4*gemvTileN*ldw, groups*(k8/8)))
	a := 0
	if acc {
		a = 1
	}
	sgemv43c(k8, groups, tiles, &ptrs[0], unsafe.SliceData(w), a, ldw, step)
	return true
}

//go:noescape
func smatvec8(k8, blocks int, x, w *float32, ldw int, out *float32)

// matvec is MatVec's kernel: blocks of eight rows reduced together, the
// rows left over one at a time.
func matvec(kn *kernel, x, w []float32, ldw int, out []float32) {
	k := len(x)
	k8 := k &^ 7
	blocks := len(out) / 8
	if !usesAVX2(kn) || k8 == 0 || blocks == 0 {
		gemv1(kn, x, w, ldw, out)
		return
	}
	r8 := 8 * blocks
	ws := w[:(r8-1)*ldw+k]
	smatvec8(k8, blocks, unsafe.SliceData(x), unsafe.SliceData(ws), ldw, unsafe.SliceData(out))
	if k8 < k {
		for j := range r8 {
			out[j] += dotGeneric(x[k8:], w[j*ldw+k8:j*ldw+k])
		}
	}
	if r8 < len(out) {
		gemv1(kn, x, w[r8*ldw:], ldw, out[r8:])
	}
}
