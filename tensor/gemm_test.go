package tensor

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"testing"
)

// gemmCase is one Gemm problem: sizes, transposes, scalars and how much
// the leading dimensions exceed the minimum.
type gemmCase struct {
	m, n, k        int
	transA, transB bool
	alpha, beta    float32
	pad            int
}

func (g gemmCase) String() string {
	return fmt.Sprintf("%dx%dx%d_tA=%v_tB=%v_a=%g_b=%g_pad=%d", g.m, g.n, g.k, g.transA, g.transB, g.alpha, g.beta, g.pad)
}

// gemmShapes covers the edges of every blocking level: single elements,
// primes, exact multiples of the 6×16 and 4×4 tiles, k across the kc=256
// block, m across mc, n across nc=4096, and the small-m paths.
var gemmShapes = [][3]int{
	{1, 1, 1}, {1, 7, 3}, {2, 3, 4}, {3, 17, 33}, {4, 64, 100}, {1, 300, 515},
	{5, 5, 5}, {7, 13, 29}, {6, 16, 8}, {12, 32, 256}, {24, 48, 512},
	{13, 29, 257}, {97, 131, 300}, {200, 50, 70}, {37, 4100, 9},
	{256, 40, 3}, {61, 67, 71},
}

// scalarCases are (alpha, beta) pairs; beta = 0 runs with NaN in C.
var scalarCases = [][2]float32{{1, 0}, {0.5, 2}, {-1, 1}, {0, 0.5}, {2, -0.0}}

// genMatrix returns rows×cols values in [-1, 1) with row stride ld; the
// padding holds NaN so a kernel that reads it is caught.
func genMatrix(rng *rand.Rand, rows, cols, ld int) []float32 {
	s := make([]float32, max(0, (rows-1)*ld+cols))
	for i := range s {
		s[i] = float32(math.NaN())
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			s[i*ld+j] = 2*rng.Float32() - 1
		}
	}
	return s
}

// gemmInputs builds A, B and C for g. C's padding is set to a sentinel the
// test checks is left untouched.
func gemmInputs(g gemmCase, seed int64) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	rng := rand.New(rand.NewSource(seed))
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = g.n, g.k
	}
	lda, ldb, ldc = max(1, ac+g.pad), max(1, bc+g.pad), max(1, g.n+g.pad)
	a = genMatrix(rng, ar, ac, lda)
	b = genMatrix(rng, br, bc, ldb)
	c = make([]float32, max(0, (g.m-1)*ldc+g.n+g.pad))
	for i := range c {
		c[i] = 1234.5
	}
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			if g.beta == 0 {
				c[i*ldc+j] = float32(math.NaN())
			} else {
				c[i*ldc+j] = 2*rng.Float32() - 1
			}
		}
	}
	return
}

func abs32(s []float32) []float32 {
	r := make([]float32, len(s))
	for i, v := range s {
		r[i] = float32(math.Abs(float64(v)))
	}
	return r
}

// gemmExpect returns gemmRef's result for g and the per-element magnitude
// bound |alpha|·|A|·|B| + |beta·C| the tolerance scales with.
func gemmExpect(g gemmCase, a []float32, lda int, b []float32, ldb int, c0 []float32, ldc int) (want, bound []float32) {
	want = append([]float32(nil), c0...)
	gemmRef(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, want, ldc)
	bound = abs32(c0)
	gemmRef(g.transA, g.transB, g.m, g.n, g.k, float32(math.Abs(float64(g.alpha))), abs32(a), lda, abs32(b), ldb, float32(math.Abs(float64(g.beta))), bound, ldc)
	return want, bound
}

// checkGemmResult compares got with want. The tolerance is √k times the
// magnitude bound: rounding error of random-signed sums grows like √k,
// while a dropped or doubled term errs by about bound/k, well above it for
// the k tested. C outside the m×n window must keep its sentinel.
func checkGemmResult(t *testing.T, g gemmCase, want, bound, got []float32, ldc int) {
	t.Helper()
	eps := 6e-8 * (8*math.Sqrt(float64(g.k)) + 4)
	bad := 0
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			w, v := want[i*ldc+j], got[i*ldc+j]
			tol := eps*float64(bound[i*ldc+j]) + 1e-30
			if !(math.Abs(float64(w-v)) <= tol) {
				if bad < 5 {
					t.Errorf("C[%d,%d] = %g, want %g (tol %g)", i, j, v, w, tol)
				}
				bad++
			}
		}
	}
	for i := range got {
		if r, cl := i/ldc, i%ldc; r < g.m && cl < g.n {
			continue
		}
		if got[i] != 1234.5 {
			t.Errorf("C padding [%d] changed to %g", i, got[i])
			break
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d elements wrong", bad, g.m*g.n)
	}
}

// gemmPath is one way into the kernels; tests run every path on every
// shape it accepts, with every kernel this CPU has.
type gemmPath struct {
	name string
	ok   func(g gemmCase) bool
	run  func(kn *kernel, g gemmCase, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)
}

var gemmPaths = []gemmPath{
	{"Gemm", func(gemmCase) bool { return true },
		func(kn *kernel, g gemmCase, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
			Gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
		}},
	{"packed", func(g gemmCase) bool { return g.alpha != 0 && g.k > 0 },
		func(kn *kernel, g gemmCase, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
			gemmPacked(kn, g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
		}},
	{"smallM", func(g gemmCase) bool { return g.m <= smallM && g.alpha != 0 && g.k > 0 },
		func(kn *kernel, g gemmCase, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
			gemmSmallM(kn, g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
		}},
	{"direct", func(g gemmCase) bool { return g.m*g.n*g.k <= 1<<16 },
		func(kn *kernel, g gemmCase, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
			gemmDirect(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
		}},
}

// forEachKernel runs fn with each kernel this CPU supports selected.
func forEachKernel(t testing.TB, fn func(kn *kernel)) {
	saved := current.Load()
	defer current.Store(saved)
	for _, kn := range kernels {
		current.Store(kn)
		fn(kn)
	}
}

// withThreads runs fn with n worker threads and even tiny products and
// norms split, so the threaded code is exercised on test-sized shapes.
func withThreads(n int, fn func()) {
	saved, savedWork, savedNorm := Threads(), minWorkPerThread, normParallelMin
	SetThreads(n)
	minWorkPerThread, normParallelMin = 1, 1
	defer func() { SetThreads(saved); minWorkPerThread, normParallelMin = savedWork, savedNorm }()
	fn()
}

func TestGemmMatchesReference(t *testing.T) {
	var cases []gemmCase
	for si, s := range gemmShapes {
		for tr := 0; tr < 4; tr++ {
			for ai, ab := range scalarCases {
				// Every shape sees every transpose; scalars and padding
				// rotate so the table stays fast under -race.
				if (si+tr+ai)%2 == 1 && ai > 0 || raceEnabled && (si+tr+ai)%3 != 0 {
					continue
				}
				cases = append(cases, gemmCase{s[0], s[1], s[2], tr&1 != 0, tr&2 != 0, ab[0], ab[1], (si + tr) % 3 * 5})
			}
		}
	}
	for ci, g := range cases {
		a, lda, b, ldb, c0, ldc := gemmInputs(g, int64(ci))
		want, bound := gemmExpect(g, a, lda, b, ldb, c0, ldc)
		forEachKernel(t, func(kn *kernel) {
			for _, threads := range []int{1, 3} {
				if raceEnabled && threads == 1 {
					continue // the race detector has nothing to find single-threaded
				}
				withThreads(threads, func() {
					for _, p := range gemmPaths {
						if !p.ok(g) {
							continue
						}
						t.Run(fmt.Sprintf("%s/%s/t%d/%v", kn.name, p.name, threads, g), func(t *testing.T) {
							got := append([]float32(nil), c0...)
							p.run(kn, g, a, lda, b, ldb, got, ldc)
							checkGemmResult(t, g, want, bound, got, ldc)
						})
					}
				})
			}
		})
	}
}

func TestGemmTouchesOnlyC(t *testing.T) {
	// A and B must be left as they were (they are read-only inputs).
	g := gemmCase{m: 50, n: 70, k: 300, transA: true, transB: true, alpha: 1, beta: 1, pad: 3}
	a, lda, b, ldb, c, ldc := gemmInputs(g, 1)
	a0, b0 := append([]float32(nil), a...), append([]float32(nil), b...)
	Gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
	for i := range a {
		if a[i] != a0[i] && !(a[i] != a[i] && a0[i] != a0[i]) {
			t.Fatalf("A[%d] changed", i)
		}
	}
	for i := range b {
		if b[i] != b0[i] && !(b[i] != b[i] && b0[i] != b0[i]) {
			t.Fatalf("B[%d] changed", i)
		}
	}
}

func TestGemmPanicsOnShortSlices(t *testing.T) {
	cases := []struct {
		name string
		run  func()
	}{
		{"short a", func() {
			Gemm(false, false, 4, 4, 4, 1, make([]float32, 15), 4, make([]float32, 16), 4, 0, make([]float32, 16), 4)
		}},
		{"short b transB", func() {
			Gemm(false, true, 4, 5, 4, 1, make([]float32, 16), 4, make([]float32, 19), 4, 0, make([]float32, 20), 5)
		}},
		{"short c", func() {
			Gemm(false, false, 4, 4, 4, 1, make([]float32, 16), 4, make([]float32, 16), 4, 0, make([]float32, 15), 4)
		}},
		{"lda too small", func() {
			Gemm(false, false, 4, 4, 4, 1, make([]float32, 64), 3, make([]float32, 16), 4, 0, make([]float32, 16), 4)
		}},
		{"negative", func() { Gemm(false, false, -1, 4, 4, 1, nil, 4, nil, 4, 0, nil, 4) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.run()
		})
	}
}

func TestGemmEmpty(t *testing.T) {
	// Zero-sized products are no-ops (k == 0 just scales C).
	Gemm(false, false, 0, 5, 5, 1, nil, 5, make([]float32, 25), 5, 0, nil, 5)
	c := []float32{float32(math.NaN()), 2}
	Gemm(false, false, 1, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
	if c[0] != 0 || c[1] != 0 {
		t.Fatalf("k=0 beta=0 gave %v, want zeros", c)
	}
	c = []float32{1, 2}
	Gemm(false, false, 1, 2, 0, 1, nil, 1, nil, 2, 3, c, 2)
	if c[0] != 3 || c[1] != 6 {
		t.Fatalf("k=0 beta=3 gave %v, want [3 6]", c)
	}
}

func TestKernelNames(t *testing.T) {
	if Kernel() != kernels[0].name {
		t.Fatalf("Kernel() = %q, want the preferred %q", Kernel(), kernels[0].name)
	}
	if !useKernel("generic") || Kernel() != "generic" {
		t.Fatal("the generic kernel must always be available")
	}
	useKernel(kernels[0].name)
	if useKernel("no-such-kernel") {
		t.Fatal("useKernel accepted an unknown name")
	}
}

// TestGemmTinyBlocks shrinks every cache block so that test-sized products
// cross many kc, mc and nc boundaries, with A packed once up front and per
// block, on 1 and 3 threads.
func TestGemmTinyBlocks(t *testing.T) {
	savedCache := aCacheMax
	defer func() { aCacheMax = savedCache }()
	shapes := [][3]int{{7, 13, 29}, {13, 29, 57}, {40, 70, 33}, {25, 100, 64}}
	for _, base := range kernels {
		kn := *base
		kn.kc, kn.mc, kn.nc, kn.ncCachedA = 8, 2*kn.mr, 3*kn.nr, 2*kn.nr
		for si, s := range shapes {
			for tr := 0; tr < 4; tr++ {
				g := gemmCase{s[0], s[1], s[2], tr&1 != 0, tr&2 != 0, 1.5, 0.5, tr % 2 * 3}
				a, lda, b, ldb, c0, ldc := gemmInputs(g, int64(si*4+tr))
				want, bound := gemmExpect(g, a, lda, b, ldb, c0, ldc)
				for _, cache := range []int{0, 1 << 20} {
					for _, threads := range []int{1, 3} {
						aCacheMax = cache
						withThreads(threads, func() {
							got := append([]float32(nil), c0...)
							gemmPacked(&kn, g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, got, ldc)
							t.Run(fmt.Sprintf("%s/cacheA=%v/t%d/%v", kn.name, cache > 0, threads, g), func(t *testing.T) {
								checkGemmResult(t, g, want, bound, got, ldc)
							})
						})
					}
				}
			}
		}
	}
}

// TestRequiredKernel fails when ALIGNLAB_REQUIRE_KERNEL names a kernel this
// CPU does not offer first: the emulated AVX-512 run (.ci/avx512) sets it,
// so that a CPU model or kernel without AVX-512 cannot pass by testing
// only the AVX2 and portable kernels.
func TestRequiredKernel(t *testing.T) {
	want := os.Getenv("ALIGNLAB_REQUIRE_KERNEL")
	if want == "" {
		t.Skip("ALIGNLAB_REQUIRE_KERNEL not set")
	}
	if kernels[0].name != want {
		names := make([]string, len(kernels))
		for i, k := range kernels {
			names[i] = k.name
		}
		t.Fatalf("preferred kernel is %q (available %v), want %q", kernels[0].name, names, want)
	}
}
