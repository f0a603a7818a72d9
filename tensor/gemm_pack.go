package tensor

// Packing copies a block of op(A) or op(B) into the order the micro-kernel
// reads it: A as panels of mr rows, k-major (mr values per k step), B as
// panels of nr columns, k-major (nr values per k step). Rows or columns past
// the matrix edge are zero, so the kernel always computes full tiles.
// Transposition is absorbed here; the kernel never sees it.

// packA packs rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into dst as
// ceil(mc/mr) panels of mr·kc values.
func packA(dst, a []float32, lda int, transA bool, i0, mc, p0, kc, mr int) {
	if transA && mr == 6 && mc >= 6 {
		// Full panels row by row of the stored A, reading it sequentially.
		full := mc / 6
		packRowsAT6(dst, a[p0*lda+i0:], lda, kc, full)
		dst, i0, mc = dst[full*6*kc:], i0+full*6, mc-full*6
	}
	for r := 0; r < mc; r += mr {
		rows := min(mr, mc-r)
		d := dst[r*kc : r*kc+mr*kc]
		if transA {
			// op(A)[i][p] = a[p*lda+i]: each k step is a contiguous run.
			for p := 0; p < kc; p++ {
				src := a[(p0+p)*lda+i0+r:]
				dp := d[p*mr : p*mr+mr]
				copy(dp, src[:rows])
				clear(dp[rows:])
			}
			continue
		}
		if rows == 6 && mr == 6 {
			packA6(d, a, lda, i0+r, p0, kc)
			continue
		}
		for i := 0; i < mr; i++ {
			if i >= rows {
				for p := 0; p < kc; p++ {
					d[p*mr+i] = 0
				}
				continue
			}
			src := a[(i0+r+i)*lda+p0:]
			src = src[:kc]
			for p, v := range src {
				d[p*mr+i] = v
			}
		}
	}
}

// packA6 gathers six full rows of a row-major A into one k-major panel.
// The amd64 build replaces it with an AVX2 transpose.
var packA6 = packA6Go

func packA6Go(d, a []float32, lda, i, p0, kc int) {
	r0 := a[i*lda+p0:][:kc]
	r1 := a[(i+1)*lda+p0:][:kc]
	r2 := a[(i+2)*lda+p0:][:kc]
	r3 := a[(i+3)*lda+p0:][:kc]
	r4 := a[(i+4)*lda+p0:][:kc]
	r5 := a[(i+5)*lda+p0:][:kc]
	d = d[:6*kc]
	for p := range r0 {
		dp := d[6*p : 6*p+6 : 6*p+6]
		dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// packB packs rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into dst
// as ceil(nc/nr) panels of kc·nr values. Panels [qlo, qhi) only, so threads
// can share the work.
func packB(dst, b []float32, ldb int, transB bool, p0, kc, j0, nc, nr, qlo, qhi int) {
	if !transB && nr == 16 {
		// Full panels row by row, so the rows of B stream sequentially.
		if full := min(qhi, nc/16); full > qlo {
			packRowsB16(dst[qlo*16*kc:], b[p0*ldb+j0+qlo*16:], ldb, kc, full-qlo)
			qlo = full
		}
	}
	for q := qlo; q < qhi; q++ {
		j := q * nr
		cols := min(nr, nc-j)
		d := dst[j*kc : j*kc+nr*kc]
		if !transB {
			// op(B)[p][j] = b[p*ldb+j]: each k step is a contiguous run.
			for p := 0; p < kc; p++ {
				dp := d[p*nr : p*nr+nr]
				copy(dp, b[(p0+p)*ldb+j0+j:][:cols])
				clear(dp[cols:])
			}
			continue
		}
		if cols == 16 && nr == 16 && packBT16 != nil {
			packBT16(d, b[(j0+j)*ldb+p0:], ldb, kc)
			continue
		}
		for jj := 0; jj < nr; jj++ {
			if jj >= cols {
				for p := 0; p < kc; p++ {
					d[p*nr+jj] = 0
				}
				continue
			}
			src := b[(j0+j+jj)*ldb+p0:][:kc]
			for p, v := range src {
				d[p*nr+jj] = v
			}
		}
	}
}

// packBT16 packs 16 rows of a row-major B (stride ldb, kc values each) as
// one k-major panel: the transposing pack of the transB case. The amd64
// build replaces it with an AVX2 8×8-transpose version.
var packBT16 = packBT16Go

func packBT16Go(d, b []float32, ldb, kc int) {
	d = d[:16*kc]
	for jj := 0; jj < 16; jj++ {
		src := b[jj*ldb:][:kc]
		for p, v := range src {
			d[p*16+jj] = v
		}
	}
}

// packRowsB16 packs panels full 16-column panels of kc rows of a row-major
// B, row by row: reading each row of B sequentially is several times
// faster than gathering one panel's 64 bytes from every row. The amd64
// build replaces it with an assembly loop.
var packRowsB16 = packRowsB16Go

func packRowsB16Go(d, b []float32, ldb, kc, panels int) {
	for p := 0; p < kc; p++ {
		src := b[p*ldb : p*ldb+16*panels]
		for q := 0; q < panels; q++ {
			copy(d[q*16*kc+16*p:q*16*kc+16*p+16], src[16*q:16*q+16])
		}
	}
}

// packRowsAT6 packs panels full 6-row panels of op(A) = Aᵀ from kc rows of
// the stored A, each row read once and dealt out 6 floats per panel. The
// amd64 build replaces it with an assembly loop.
var packRowsAT6 = packRowsAT6Go

func packRowsAT6Go(d, a []float32, lda, kc, panels int) {
	for p := 0; p < kc; p++ {
		src := a[p*lda : p*lda+6*panels]
		for q := 0; q < panels; q++ {
			copy(d[q*6*kc+6*p:q*6*kc+6*p+6], src[6*q:6*q+6])
		}
	}
}
