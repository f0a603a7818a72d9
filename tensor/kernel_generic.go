package tensor

// The portable kernel: plain Go, used where no assembly kernel applies
// (other architectures, the purego tag, x86 without AVX2+FMA). A 4×4
// register tile is what the Go compiler keeps in registers without spills.

var genericKernel = &kernel{
	name: "generic",
	mr:   4, nr: 4,
	kc: 256, mc: 128, nc: 2048, ncCachedA: 1024,
	micro: microGeneric4x4,
	dot:   dotGeneric,
	axpy:  axpyGeneric,
	scal:  scalGeneric,

	max:        maxGeneric,
	expSum:     expSumGeneric,
	gelu:       geluGeneric,
	geluBack:   geluBackGeneric,
	swiglu:     swigluGeneric,
	swigluBack: swigluBackGeneric,

	sumsAtLeast: sumsAtLeastGeneric,
	indicesIn:   indicesInGeneric,
}

// microGeneric4x4 is the portable micro-kernel: c = alpha·a·b + beta·c on a
// 4×4 tile from packed panels.
func microGeneric4x4(kc int, a, b, c []float32, ldc int, alpha, beta float32, _ []float32) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	a = a[:4*kc]
	b = b[:4*kc]
	for p := 0; p+3 < len(a) && p+3 < len(b); p += 4 {
		a0, a1, a2, a3 := a[p], a[p+1], a[p+2], a[p+3]
		b0, b1, b2, b3 := b[p], b[p+1], b[p+2], b[p+3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	storeRow4(c[0:4:4], alpha, beta, c00, c01, c02, c03)
	storeRow4(c[ldc:ldc+4:ldc+4], alpha, beta, c10, c11, c12, c13)
	storeRow4(c[2*ldc:2*ldc+4:2*ldc+4], alpha, beta, c20, c21, c22, c23)
	storeRow4(c[3*ldc:3*ldc+4:3*ldc+4], alpha, beta, c30, c31, c32, c33)
}

func storeRow4(c []float32, alpha, beta, v0, v1, v2, v3 float32) {
	c = c[:4]
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*v0, alpha*v1, alpha*v2, alpha*v3
		return
	}
	c[0] = alpha*v0 + beta*c[0]
	c[1] = alpha*v1 + beta*c[1]
	c[2] = alpha*v2 + beta*c[2]
	c[3] = alpha*v3 + beta*c[3]
}

func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+3 < len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scalGeneric(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}
