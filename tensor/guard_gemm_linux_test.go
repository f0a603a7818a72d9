//go:build linux

package tensor

// Bounds tests of the matrix-vector and matrix products on operands
// against guard pages (see guard_linux_test.go): MatVec, VecMat, their
// fp16 forms, and Gemm down each of its paths, with the strides at their
// minimum, so that the last row of every matrix ends at its guard.

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// guardRowLengths cross the 8- and 32-wide steps of the row kernels and the
// 16-wide pairs of the fp16 dot.
var guardRowLengths = []int{1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 48, 63, 64, 65}

// guardRowCounts cross the 8-row blocks of smatvec8 and smatvec8hp.
var guardRowCounts = []int{1, 2, 7, 8, 9, 15, 16, 17, 25}

// guardColLengths cross the 48-, 32- and 8-column blocks of svecmat and
// svecmath.
var guardColLengths = []int{1, 7, 8, 9, 16, 24, 31, 32, 33, 40, 47, 48, 49, 56, 63, 64, 65, 72, 80, 81, 88, 95, 96, 97, 127, 128, 129}

// guardHalves returns the fp16 values of n random floats in [-1, 1).
func guardHalves(rng *rand.Rand, n int) []uint16 {
	h := make([]uint16, n)
	for i := range h {
		h[i] = halfFromFloat(2*rng.Float32() - 1)
	}
	return h
}

// matVec64 is out[j] = Σ_p x[p]·w(j, p) for j < rows, with the tolerance
// of each sum.
func matVec64(x []float32, rows int, w func(j, p int) float64) (want, tol []float64) {
	want, tol = make([]float64, rows), make([]float64, rows)
	for j := range want {
		var abs float64
		for p, v := range x {
			t := float64(v) * w(j, p)
			want[j] += t
			abs += math.Abs(t)
		}
		tol[j] = sumTol(len(x), abs)
	}
	return want, tol
}

// vecMat64 is out[j] = Σ_t a[t]·w(t, j) for j < n.
func vecMat64(a []float32, n int, w func(t, j int) float64) (want, tol []float64) {
	want, tol = make([]float64, n), make([]float64, n)
	for j := range want {
		var abs float64
		for t, v := range a {
			p := float64(v) * w(t, j)
			want[j] += p
			abs += math.Abs(p)
		}
		tol[j] = sumTol(len(a), abs)
	}
	return want, tol
}

// TestGuardMatVec covers MatVec and MatVecHalf(Prefetch), with the row
// stride at its minimum and a little above it (the matrix then still ends
// at its last row).
func TestGuardMatVec(t *testing.T) {
	g := guardTest(t)
	rng := rand.New(rand.NewSource(11))
	nexts := []int{1, 7, 64, 4099}
	ci := 0
	for _, k := range guardRowLengths {
		for _, rows := range guardRowCounts {
			for _, pad := range []int{0, 3} {
				ci++
				ldw := k + pad
				x := guardRand(rng, k)
				w, wh := guardRand(rng, (rows-1)*ldw+k), guardHalves(rng, (rows-1)*ldw+k)
				next := guardHalves(rng, nexts[ci%len(nexts)])
				want, tol := matVec64(x, rows, func(j, p int) float64 { return float64(w[j*ldw+p]) })
				wantH, tolH := matVec64(x, rows, func(j, p int) float64 { return float64(halfToFloat(wh[j*ldw+p])) })
				name := fmt.Sprintf("k=%d rows=%d ldw=%d", k, rows, ldw)
				g.run(t, "MatVec "+name, false, func(c *guardCase) {
					out := g.floats("out", make([]float32, rows))
					MatVec(g.floats("x", x), g.floats("w", w), ldw, out)
					c.near("out", out, want, tol)
				})
				g.run(t, "MatVecHalf "+name, false, func(c *guardCase) {
					out := g.floats("out", make([]float32, rows))
					MatVecHalf(g.floats("x", x), g.halves("w", wh), ldw, out)
					c.near("out", out, wantH, tolH)
				})
				g.run(t, fmt.Sprintf("MatVecHalfPrefetch %s next=%d", name, len(next)), false, func(c *guardCase) {
					out := g.floats("out", make([]float32, rows))
					MatVecHalfPrefetch(g.floats("x", x), g.halves("w", wh), ldw, out, g.halves("next", next))
					c.near("out", out, wantH, tolH)
				})
			}
		}
	}
}

// TestGuardVecMat covers VecMat and VecMatHalf.
func TestGuardVecMat(t *testing.T) {
	g := guardTest(t)
	rng := rand.New(rand.NewSource(12))
	for _, rows := range []int{1, 2, 3, 4, 5, 8} {
		for _, n := range guardColLengths {
			for _, pad := range []int{0, 3} {
				ldw := n + pad
				a := guardRand(rng, rows)
				w, wh := guardRand(rng, (rows-1)*ldw+n), guardHalves(rng, (rows-1)*ldw+n)
				want, tol := vecMat64(a, n, func(t, j int) float64 { return float64(w[t*ldw+j]) })
				wantH, tolH := vecMat64(a, n, func(t, j int) float64 { return float64(halfToFloat(wh[t*ldw+j])) })
				name := fmt.Sprintf("rows=%d n=%d ldw=%d", rows, n, ldw)
				g.run(t, "VecMat "+name, false, func(c *guardCase) {
					out := g.floats("out", make([]float32, n))
					VecMat(g.floats("a", a), g.floats("w", w), ldw, out)
					c.near("out", out, want, tol)
				})
				g.run(t, "VecMatHalf "+name, false, func(c *guardCase) {
					out := g.floats("out", make([]float32, n))
					VecMatHalf(g.floats("a", a), g.halves("w", wh), ldw, out)
					c.near("out", out, wantH, tolH)
				})
			}
		}
	}
}

// gemmGuard is one Gemm problem of the guard tests; packed also runs it
// through gemmPacked directly where Gemm takes another path.
type gemmGuard struct {
	m, n, k        int
	transA, transB bool
	alpha, beta    float32
	packed         bool
}

// gemmTakesPacked reports whether Gemm runs p on the packed kernel.
func (p gemmGuard) gemmTakesPacked() bool {
	return !(p.m <= gemvMaxM && p.transB) && p.m > smallMAxpy && p.m*p.n*p.k > directWork
}

func (p gemmGuard) String() string {
	return fmt.Sprintf("m=%d n=%d k=%d transA=%v transB=%v alpha=%g beta=%g", p.m, p.n, p.k, p.transA, p.transB, p.alpha, p.beta)
}

// guardScalars are (alpha, beta) pairs: alpha 1 with beta 0 or 1 is the
// direct-store form of the few-rows kernels, the third takes their
// general path.
var guardScalars = [][2]float32{{1, 0}, {1, 1}, {0.5, 2}}

// guardGemmCases lists the Gemm problems: for each path, sizes on both
// sides of its steps and tails, each transpose, the scalar cases in turn.
func guardGemmCases() []gemmGuard {
	var cs []gemmGuard
	add := func(m, n, k int, tA, tB bool, s int, packed bool) {
		sc := guardScalars[s%len(guardScalars)]
		cs = append(cs, gemmGuard{m, n, k, tA, tB, sc[0], sc[1], packed})
	}
	// One row against a transposed B (decoding): gemvRow1 over the 32-
	// and 8-wide steps of k; on one thread its chunks reach the 32 rows
	// of the two-stream kernel from n = 225, and n = 285 ends with a
	// chunk of 33, whose odd row runs alone.
	for i, n := range []int{1, 2, 5, 16, 31, 32, 33, 64, 65, 129, 285} {
		for j, k := range []int{1, 7, 8, 9, 16, 31, 32, 33, 63, 64, 65, 288} {
			add(1, n, k, (i+j)%2 == 1, true, i+j, false)
		}
	}
	// 2 to 8 rows against a transposed B: gemvRows' 3-row tiles, in one
	// kernel call for alpha 1 and k a multiple of 8 (gemvTiles), or one
	// per tile (gemvTile), and the rows of B left over.
	for i, m := range []int{2, 3, 4, 5, 7, 8} {
		for j, n := range []int{1, 2, 3, 4, 6, 7, 13, 14} {
			for l, k := range []int{1, 7, 8, 9, 16, 17, 24, 40} {
				add(m, n, k, (i+j+l)%2 == 1, true, i+j+l, false)
			}
		}
	}
	add(4, 197, 8, false, true, 0, false) // more tiles than one gemvTiles call takes
	// 9 to 16 rows against a transposed B: the 6-row outer product for
	// alpha 1 and even k (its x packed by transpose16 from 16 k), else
	// gemvRows.
	for i, m := range []int{9, 12, 15, 16} {
		for j, n := range []int{1, 5, 6, 7, 12, 13, 18} {
			for l, k := range []int{2, 7, 8, 14, 16, 17, 18, 32, 34} {
				add(m, n, k, (i+j+l)%2 == 1, true, i+j+l, false)
			}
		}
	}
	// Up to 3 rows against B as stored: axpys over the rows of B.
	for i, m := range []int{1, 2, 3} {
		for j, n := range []int{1, 7, 8, 9, 31, 32, 33, 47, 65, 129} {
			for l, k := range []int{1, 2, 5} {
				add(m, n, k, (i+j+l)%2 == 1, false, i+j+l, false)
			}
		}
	}
	// The packed kernel, every transpose: full and edge 6x16 tiles,
	// the packing loops' full panels and k tails.
	for i, m := range []int{4, 6, 7, 17, 18} {
		for j, n := range []int{1, 15, 16, 17, 33} {
			for l, k := range []int{1, 7, 8, 9, 16, 33} {
				for tr := range 4 {
					add(m, n, k, tr&1 != 0, tr&2 != 0, i+j+l+tr, true)
				}
			}
		}
	}
	// Across the blocking: k past kc, m past mc, and n past ncCachedA
	// (A packed once up front).
	for tr := range 4 {
		add(18, 32, 257, tr&1 != 0, tr&2 != 0, tr, true)
		add(150, 17, 9, tr&1 != 0, tr&2 != 0, tr, true)
	}
	add(6, 1041, 9, false, false, 0, true)
	add(7, 1041, 16, true, true, 2, true)
	return cs
}

// gemm64 returns op(A)·op(B) scaled as p says, plus beta·C0, in float64,
// with each element's tolerance; the strides are the minimum.
func gemm64(p gemmGuard, a, b, c0 []float32) (want, tol []float64) {
	lda, ldb := p.k, p.n
	if p.transA {
		lda = p.m
	}
	if p.transB {
		ldb = p.k
	}
	want, tol = make([]float64, p.m*p.n), make([]float64, p.m*p.n)
	alpha, beta := float64(p.alpha), float64(p.beta)
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.n; j++ {
			var s, abs float64
			for q := 0; q < p.k; q++ {
				var av, bv float32
				if p.transA {
					av = a[q*lda+i]
				} else {
					av = a[i*lda+q]
				}
				if p.transB {
					bv = b[j*ldb+q]
				} else {
					bv = b[q*ldb+j]
				}
				s += float64(av) * float64(bv)
				abs += math.Abs(float64(av) * float64(bv))
			}
			w, sc := alpha*s, math.Abs(alpha)*abs
			if beta != 0 {
				w += beta * float64(c0[i*p.n+j])
				sc += math.Abs(beta * float64(c0[i*p.n+j]))
			}
			want[i*p.n+j], tol[i*p.n+j] = w, sumTol(p.k+1, sc)
		}
	}
	return want, tol
}

// guardGemm runs p through Gemm (and gemmPacked) on guarded operands and
// checks C; beta = 0 runs with NaN in C, which must be ignored.
func guardGemm(t *testing.T, g *guardMem, rng *rand.Rand, p gemmGuard, logCalls bool) {
	lda, ldb := p.k, p.n
	if p.transA {
		lda = p.m
	}
	if p.transB {
		ldb = p.k
	}
	a, b, c0 := guardRand(rng, p.m*p.k), guardRand(rng, p.k*p.n), guardRand(rng, p.m*p.n)
	if p.beta == 0 {
		for i := range c0 {
			c0[i] = float32(math.NaN())
		}
	}
	want, tol := gemm64(p, a, b, c0)
	g.run(t, "Gemm "+p.String(), logCalls, func(c *guardCase) {
		cg := g.floats("c", c0)
		Gemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, g.floats("a", a), lda, g.floats("b", b), ldb, p.beta, cg, p.n)
		c.near("c", cg, want, tol)
	})
	if !p.packed || p.gemmTakesPacked() {
		return
	}
	g.run(t, "gemmPacked "+p.String(), logCalls, func(c *guardCase) {
		cg := g.floats("c", c0)
		gemmPacked(current.Load(), p.transA, p.transB, p.m, p.n, p.k, p.alpha, g.floats("a", a), lda, g.floats("b", b), ldb, p.beta, cg, p.n)
		c.near("c", cg, want, tol)
	})
}

func TestGuardGemm(t *testing.T) {
	g := guardTest(t)
	rng := rand.New(rand.NewSource(13))
	for i, p := range guardGemmCases() {
		if raceEnabled && i%3 != 0 {
			continue // the race detector slows the Go loops tenfold
		}
		guardGemm(t, g, rng, p, false)
	}
}

// TestGuardThreaded repeats a share of the cases on two threads, with the
// thresholds for splitting work lowered, so that chunks of outputs end
// inside the operands and the last chunk at their end. A fault in a worker
// goroutine cannot be recovered: it kills the test binary, and the case
// is the last one logged under -v.
func TestGuardThreaded(t *testing.T) {
	g := guardTest(t)
	rng := rand.New(rand.NewSource(14))
	defer func(saved int) { gemvMinWeights = saved }(gemvMinWeights)
	gemvMinWeights = 1
	every := 8
	if raceEnabled {
		every = 24
	}
	withThreads(2, func() {
		for i, p := range guardGemmCases() {
			if i%every == 0 || p.m*p.n*p.k > 1<<14 {
				guardGemm(t, g, rng, p, true)
			}
		}
		// Elementwise kernels split from 2·2^15 elements, in chunks of 8.
		guardActivations(t, g, rng, 2*parallelElemsMin+13, true)
		guardRMSNorm(t, g, rng, 5, 33, true)
	})
}
