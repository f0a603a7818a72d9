package tensor

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// refMatVec is out[j] = Σ_p x[p]·w[j*ldw+p] in float64.
func refMatVec(x, w []float32, ldw, rows int) []float64 {
	out := make([]float64, rows)
	for j := range out {
		for p, xv := range x {
			out[j] += float64(xv) * float64(w[j*ldw+p])
		}
	}
	return out
}

// checkClose fails when got differs from want by more than a float32
// rounding bound for sums of k products of values in [-1, 1).
func checkClose(t *testing.T, what string, got []float32, want []float64, k int) {
	t.Helper()
	tol := 1e-6 * float64(k+8)
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
			t.Fatalf("%s[%d] = %v, want %v (|diff| %g > %g)", what, i, got[i], want[i], d, tol)
		}
	}
}

// TestGemvRow1TwoStreams checks the one-row product on chunks long enough
// for the two-stream kernel (even and odd row counts, so the left-over row
// runs alone), with k below, at and above the 8- and 32-wide steps, padded
// strides and every scalar case, for every kernel.
func TestGemvRow1TwoStreams(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, rows := range []int{32, 33, 130, 257} {
		for _, k := range []int{8, 29, 32, 48, 100, 288} {
			for si, ab := range scalarCases {
				ldw := k + si%2*5
				x := genMatrix(rng, 1, k, k)
				w := genMatrix(rng, rows, k, ldw)
				c0 := genMatrix(rng, 1, rows, rows)
				dots := refMatVec(x, w, ldw, rows)
				want := make([]float64, rows)
				for j := range want {
					want[j] = float64(ab[0])*dots[j] + float64(ab[1])*float64(c0[j])
					if ab[1] == 0 {
						want[j] = float64(ab[0]) * dots[j]
					}
				}
				forEachKernel(t, func(kn *kernel) {
					t.Run(fmt.Sprintf("%s/rows%d/k%d/%v", kn.name, rows, k, ab), func(t *testing.T) {
						c := append([]float32(nil), c0...)
						gemvRow1(kn, x, 0, rows, ab[0], w, ldw, ab[1], c)
						checkClose(t, "c", c, want, k)
					})
				})
			}
		}
	}
}

// TestMatVecVecMat checks the serial attention helpers against float64
// sums: MatVec (scores over a block of keys) and VecMat (the weighted sum
// of value rows), with column counts on both sides of the 8- and 32-wide
// blocks, one row, odd row counts and padded strides, for every kernel.
func TestMatVecVecMat(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for _, rows := range []int{1, 2, 7, 64, 129} {
		for _, n := range []int{1, 8, 13, 32, 48, 64, 72, 100} {
			for _, pad := range []int{0, 3} {
				ldw := n + pad
				w := genMatrix(rng, rows, n, ldw)
				x := genMatrix(rng, 1, n, n)
				a := genMatrix(rng, 1, rows, rows)
				wantMV := refMatVec(x, w, ldw, rows)
				wantVM := make([]float64, n)
				for tt, at := range a {
					for j := range wantVM {
						wantVM[j] += float64(at) * float64(w[tt*ldw+j])
					}
				}
				forEachKernel(t, func(kn *kernel) {
					t.Run(fmt.Sprintf("%s/rows%d/n%d/ldw%d", kn.name, rows, n, ldw), func(t *testing.T) {
						mv := make([]float32, rows)
						MatVec(x, w, ldw, mv)
						checkClose(t, "MatVec", mv, wantMV, n)
						vm := make([]float32, n)
						for i := range vm {
							vm[i] = float32(math.NaN()) // must be overwritten
						}
						VecMat(a, w, ldw, vm)
						checkClose(t, "VecMat", vm, wantVM, rows)
					})
				})
			}
		}
	}
}

// TestMatVecVecMatBadShapes checks that a too-short weight slice panics
// with the sizes named instead of reading past it.
func TestMatVecVecMatBadShapes(t *testing.T) {
	for name, fn := range map[string]func(){
		"MatVec": func() { MatVec(make([]float32, 8), make([]float32, 15), 8, make([]float32, 2)) },
		"VecMat": func() { VecMat(make([]float32, 2), make([]float32, 15), 8, make([]float32, 8)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with a short weight slice did not panic", name)
				}
			}()
			fn()
		}()
	}
}
