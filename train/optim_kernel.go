// The AdamW inner loop: a portable Go version, replaced at start-up by an
// AVX2 one where the CPU has it (optim_amd64.go); the loop is bound by the
// square root and the division, so eight lanes make it memory-bound.

package train

import "math"

// adamConsts are one update's constants, in the order the assembly kernel
// reads them.
type adamConsts struct {
	b1, c1, b2, c2 float32 // β1, 1−β1, β2, 1−β2
	gradScale      float32 // gradients are multiplied by this (clipping)
	keep           float32 // 1 − lr·wd, or 1 without decay
	step           float32 // lr / (1 − β1ᵗ)
	invRootBC2     float32 // 1 / √(1 − β2ᵗ)
	eps            float32
}

// adamKernel updates p, m and v in place from g (all the same length).
var adamKernel = adamGeneric

func adamGeneric(p, g, m, v []float32, k *adamConsts) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i, x := range p {
		gi := g[i] * k.gradScale
		mi := k.b1*m[i] + k.c1*gi
		vi := k.b2*v[i] + k.c2*gi*gi
		m[i], v[i] = mi, vi
		// float32(math.Sqrt(float64(·))) compiles to one SQRTSS.
		p[i] = x*k.keep - k.step*mi/(float32(math.Sqrt(float64(vi)))*k.invRootBC2+k.eps)
	}
}
