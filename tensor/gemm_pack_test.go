package tensor

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestPackLayouts checks packA and packB against the layout definition for
// the 6×16 tile, with whichever packing loops this build installs (the
// assembly ones on AVX2) and with the portable Go ones, including partial
// panels, k tails that are not multiples of 8 or 16, and offsets.
func TestPackLayouts(t *testing.T) {
	saved := [4]any{packA6, packBT16, packRowsB16, packRowsAT6}
	defer func() {
		packA6 = saved[0].(func([]float32, []float32, int, int, int, int))
		packBT16 = saved[1].(func([]float32, []float32, int, int))
		packRowsB16 = saved[2].(func([]float32, []float32, int, int, int))
		packRowsAT6 = saved[3].(func([]float32, []float32, int, int, int))
	}()
	rng := rand.New(rand.NewSource(11))
	for _, impl := range []string{"installed", "go"} {
		if impl == "go" {
			packA6, packBT16, packRowsB16, packRowsAT6 = packA6Go, packBT16Go, packRowsB16Go, packRowsAT6Go
		}
		for _, sz := range [][4]int{{6, 8, 0, 0}, {13, 37, 5, 3}, {24, 256, 2, 16}, {7, 15, 1, 1}, {40, 33, 0, 7}} {
			mn, kc, off, pk := sz[0], sz[1], sz[2], sz[3]
			for _, trans := range []bool{false, true} {
				name := fmt.Sprintf("%s/%dx%d/off%d/trans=%v", impl, mn, kc, off, trans)
				// A stored m×k (or k×m if trans) with room for the offsets.
				rows, cols := off+mn+2, pk+kc+3
				if trans {
					rows, cols = pk+kc+3, off+mn+2
				}
				src := randSlice(rng, rows*cols)
				opA := func(i, p int) float32 {
					if trans {
						return src[p*cols+i]
					}
					return src[i*cols+p]
				}
				dst := randSlice(rng, roundUp(mn, 6)*kc)
				packA(dst, src, cols, trans, off, mn, pk, kc, 6)
				for r := 0; r < roundUp(mn, 6); r++ {
					for p := 0; p < kc; p++ {
						var want float32
						if r < mn {
							want = opA(off+r, pk+p)
						}
						if got := dst[r/6*6*kc+p*6+r%6]; got != want {
							t.Fatalf("packA %s: row %d k %d = %g, want %g", name, r, p, got, want)
						}
					}
				}
				// The same matrix as B: op(B) is k×n with n = mn.
				opB := func(p, j int) float32 { return opA(j, p) }
				dstB := randSlice(rng, kc*roundUp(mn, 16))
				panels := ceilDiv(mn, 16)
				packB(dstB, src, cols, !trans, pk, kc, off, mn, 16, 0, panels)
				for j := 0; j < roundUp(mn, 16); j++ {
					for p := 0; p < kc; p++ {
						var want float32
						if j < mn {
							want = opB(pk+p, off+j)
						}
						if got := dstB[j/16*16*kc+p*16+j%16]; got != want {
							t.Fatalf("packB %s: k %d col %d = %g, want %g", name, p, j, got, want)
						}
					}
				}
			}
		}
	}
}
