package tensor

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestHalfRoundTrip checks every fp16 value: widening is exact, so
// rounding it back gives the same bits (NaNs stay NaN).
func TestHalfRoundTrip(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := halfToFloat(h)
		isNaN := h&0x7c00 == 0x7c00 && h&0x3ff != 0
		if isNaN {
			if !math.IsNaN(float64(f)) || halfFromFloat(f)&0x7c00 != 0x7c00 || halfFromFloat(f)&0x3ff == 0 {
				t.Fatalf("NaN %#04x: widened %v, back %#04x", h, f, halfFromFloat(f))
			}
			continue
		}
		if got := halfFromFloat(f); got != h {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, got)
		}
	}
}

// TestHalfRounding checks round-to-nearest-even at the edges: ties,
// overflow to Inf, subnormals, underflow to zero.
func TestHalfRounding(t *testing.T) {
	cases := []struct {
		f float32
		h uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {float32(math.Copysign(0, -1)), 0x8000},
		{1 + 1.0/2048, 0x3c00},        // tie between 1 and 1+2^-10: even
		{1 + 3.0/2048, 0x3c02},        // tie: up to even
		{1 + 1.0/2048 + 1e-7, 0x3c01}, // just above the tie
		{65504, 0x7bff}, {65519, 0x7bff}, {65520, 0x7c00}, {1e10, 0x7c00}, {-1e10, 0xfc00},
		{float32(math.Inf(1)), 0x7c00},
		{1.0 / (1 << 14), 0x0400},     // smallest normal
		{1.0 / (1 << 24), 0x0001},     // smallest subnormal
		{1.0 / (1 << 25), 0x0000},     // tie with zero: even
		{1.5 / (1 << 24), 0x0002},     // tie between 1 and 2 subnormal steps: even
		{2.5 / (1 << 24), 0x0002},     // tie: even
		{1.0/(1<<25) + 1e-12, 0x0001}, // above the tie
		{1e-30, 0},
	}
	for _, c := range cases {
		if got := halfFromFloat(c.f); got != c.h {
			t.Errorf("halfFromFloat(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
		forEachKernel(t, func(kn *kernel) {
			src := make([]float32, 9)
			for i := range src {
				src[i] = c.f
			}
			dst := make([]uint16, 9)
			FloatsToHalves(dst, src)
			for i, h := range dst {
				if h != c.h {
					t.Errorf("%s: FloatsToHalves(%g)[%d] = %#04x, want %#04x", kn.name, c.f, i, h, c.h)
				}
			}
		})
	}
}

// TestHalfConversionsAgree converts random floats of every magnitude
// (random bit patterns, NaN excluded) with each kernel: the assembly
// (F16C) and the Go loops must give the same bits, and widening back the
// same floats.
func TestHalfConversionsAgree(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	src := make([]float32, 4099)
	for i := range src {
		for {
			src[i] = math.Float32frombits(rng.Uint32())
			if !math.IsNaN(float64(src[i])) {
				break
			}
		}
		if i%3 == 0 { // more values in the half's range
			src[i] = float32(rng.NormFloat64() * math.Pow(2, float64(rng.Intn(40)-25)))
		}
	}
	for i := range src {
		want := halfFromFloat(src[i])
		forEachKernel(t, func(kn *kernel) {
			got := make([]uint16, 1)
			FloatsToHalves(got, src[i:i+1])
			if got[0] != want {
				t.Fatalf("%s: %g -> %#04x, Go %#04x", kn.name, src[i], got[0], want)
			}
		})
	}
	forEachKernel(t, func(kn *kernel) {
		h := make([]uint16, len(src))
		FloatsToHalves(h, src)
		back := make([]float32, len(h))
		HalvesToFloats(back, h)
		for i := range src {
			if h[i] != halfFromFloat(src[i]) || math.Float32bits(back[i]) != math.Float32bits(halfToFloat(h[i])) {
				t.Fatalf("%s: element %d: %g -> %#04x -> %g", kn.name, i, src[i], h[i], back[i])
			}
		}
	})
}

// TestMatVecVecMatHalf checks the fp16 attention products against a
// float64 sum over the widened halves, for row lengths on both sides of
// the 8-wide steps and the 48-wide blocks, row counts around the 8-row
// blocks, and padded strides.
func TestMatVecVecMatHalf(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, k := range []int{1, 7, 8, 9, 47, 48, 56, 64, 100, 288} {
		for _, rows := range []int{1, 7, 8, 9, 17, 130} {
			for _, pad := range []int{0, 5} {
				ldw := k + pad
				x := make([]float32, k)
				a := make([]float32, rows)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				for i := range a {
					a[i] = rng.Float32()
				}
				wf := make([]float32, (rows-1)*ldw+k)
				for i := range wf {
					wf[i] = float32(rng.NormFloat64())
				}
				w := make([]uint16, len(wf))
				FloatsToHalves(w, wf)
				wantMV := make([]float64, rows)
				wantVM := make([]float64, k)
				var scale float64
				for j := 0; j < rows; j++ {
					for p := 0; p < k; p++ {
						v := float64(halfToFloat(w[j*ldw+p]))
						wantMV[j] += float64(x[p]) * v
						wantVM[p] += float64(a[j]) * v
						scale += math.Abs(v)
					}
				}
				tol := 1e-5 * (1 + scale/float64(rows))
				forEachKernel(t, func(kn *kernel) {
					name := fmt.Sprintf("%s/k%d/rows%d/ldw%d", kn.name, k, rows, ldw)
					mv := make([]float32, rows)
					MatVecHalf(x, w, ldw, mv)
					for j, v := range mv {
						if math.Abs(float64(v)-wantMV[j]) > tol {
							t.Fatalf("%s: MatVecHalf[%d] = %v, want %v", name, j, v, wantMV[j])
						}
					}
					// The prefetching form gives the same bits, whatever
					// it is asked to fetch (here w itself, or a short slice).
					for _, next := range [][]uint16{w, w[:1]} {
						mvp := make([]float32, rows)
						MatVecHalfPrefetch(x, w, ldw, mvp, next)
						for j := range mvp {
							if mvp[j] != mv[j] {
								t.Fatalf("%s: MatVecHalfPrefetch[%d] = %v, MatVecHalf %v", name, j, mvp[j], mv[j])
							}
						}
					}
					vm := make([]float32, k)
					for i := range vm {
						vm[i] = float32(math.NaN()) // overwritten, not added to
					}
					VecMatHalf(a, w, ldw, vm)
					for p, v := range vm {
						if math.Abs(float64(v)-wantVM[p]) > tol*float64(rows) {
							t.Fatalf("%s: VecMatHalf[%d] = %v, want %v", name, p, v, wantVM[p])
						}
					}
				})
			}
		}
	}
}
