//go:build amd64 && !purego

package tensor

import "unsafe"

//go:noescape
func sgemv6x16t(k2, tiles int, w *float32, ldw int, xp *float32, c *float32, ldc, acc, pfstep, m int)

// gemv6x16AVX2 is gemv6x16 on the AVX2 kernel.
func gemv6x16AVX2(k, tiles int, w []float32, ldw int, xp []float32, c []float32, ldc int, acc bool, m int) {
	gemv6x16Asm(sgemv6x16t, k, tiles, w, ldw, xp, c, ldc, acc, m)
}

// gemv6x16Asm checks gemv6x16's slices and runs it on the assembly tile
// loop fn (sgemv6x16t or its AVX-512 twin, which share the arguments).
func gemv6x16Asm(fn func(k2, tiles int, w *float32, ldw int, xp *float32, c *float32, ldc, acc, pfstep, m int),
	k, tiles int, w []float32, ldw int, xp []float32, c []float32, ldc int, acc bool, m int) {
	if tiles == 0 {
		return
	}
	rows := gemvOuterTile * tiles
	w = w[:(rows-1)*ldw+k]
	xp = xp[:16*k]
	c = c[:(m-1)*ldc+rows]
	a := 0
	if acc {
		a = 1
	}
	// Spread a tile's bytes over this tile's loop passes (two k steps
	// each), a line at most apart.
	pf := min(64, ceilDiv(4*gemvOuterTile*ldw, k/2))
	fn(k/2, tiles, unsafe.SliceData(w), ldw, unsafe.SliceData(xp), unsafe.SliceData(c), ldc, a, pf, m)
}
