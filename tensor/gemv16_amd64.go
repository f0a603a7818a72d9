//go:build amd64 && !purego

package tensor

import "unsafe"

//go:noescape
func sgemv6x16t(k2, tiles int, w *float32, ldw int, xp *float32, c *float32, ldc, acc, pfstep, m, wide int)

// gemv6x16AVX2 is gemv6x16 on the AVX2 kernel.
func gemv6x16AVX2(k, tiles int, w []float32, ldw int, xp []float32, c []float32, ldc int, acc bool, m int) {
	gemv6x16Asm(false, k, tiles, w, ldw, xp, c, ldc, acc, m)
}

// gemv6x16Asm checks gemv6x16's slices and runs sgemv6x16t, 16-wide if
// wide (AVX-512F CPUs only).
func gemv6x16Asm(wide bool, k, tiles int, w []float32, ldw int, xp []float32, c []float32, ldc int, acc bool, m int) {
	if tiles == 0 {
		return
	}
	rows := gemvOuterTile * tiles
	w = w[:(rows-1)*ldw+k]
	xp = xp[:16*k]
	c = c[:(m-1)*ldc+rows]
	a, z := 0, 0
	if acc {
		a = 1
	}
	if wide {
		z = 1
	}
	// Spread a tile's bytes over this tile's loop passes (two k steps
	// each), a line at most apart.
	pf := min(64, ceilDiv(4*gemvOuterTile*ldw, k/2))
	sgemv6x16t(k/2, tiles, unsafe.SliceData(w), ldw, unsafe.SliceData(xp), unsafe.SliceData(c), ldc, a, pf, m, z)
}
