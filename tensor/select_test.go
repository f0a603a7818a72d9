package tensor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// selectInput is a vector for the threshold scans: small integers (exact
// sums in any order) or spread floats, with values equal to the bounds,
// NaNs and infinities mixed in.
func selectInput(rng *rand.Rand, n int, ints bool, lo, hi float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch r := rng.IntN(20); {
		case r == 0:
			x[i] = lo
		case r == 1:
			x[i] = hi
		case r == 2 && !ints:
			x[i] = float32(math.NaN())
		case r == 3 && !ints:
			x[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
		case ints:
			x[i] = float32(rng.IntN(16))
		default:
			x[i] = float32(rng.NormFloat64() * 4)
		}
	}
	return x
}

// TestBlockSumsAtLeast checks every kernel against a float64 sum of the
// kept elements, block by block, over lengths around the block and vector
// widths: exactly where the sums are exact (small integers), to float32
// rounding otherwise.
func TestBlockSumsAtLeast(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	lengths := []int{0, 1, 7, 8, 9, 63, 64, 65, 127, 128, 200, 32000}
	for _, kn := range kernels {
		for _, n := range lengths {
			for _, ints := range []bool{true, false} {
				lo := float32(3)
				x := selectInput(rng, n, ints, lo, 7)
				if !ints {
					for i, v := range x { // sums of infinities are not checked here
						if math.IsInf(float64(v), 0) {
							x[i] = 0
						}
					}
				}
				sums := make([]float32, n/SumBlock+2)
				nb := (n + SumBlock - 1) / SumBlock
				kn.sumsAtLeast(sums[:nb], x, lo)
				for b := 0; b < nb; b++ {
					var want, mag float64
					for _, v := range x[b*SumBlock : min((b+1)*SumBlock, n)] {
						if v >= lo {
							want += float64(v)
							mag += math.Abs(float64(v))
						}
					}
					got := float64(sums[b])
					if ints && got != want || !ints && math.Abs(got-want) > 1e-6*mag {
						t.Fatalf("%s n=%d ints=%v block %d: sum %v, want %v", kn.name, n, ints, b, got, want)
					}
				}
			}
		}
	}
	if got := BlockSumsAtLeast(make([]float32, 3), make([]float32, 129), 0); len(got) != 3 {
		t.Fatalf("BlockSumsAtLeast over 129 elements returned %d sums, want 3", len(got))
	}
}

// TestIndicesInRange checks every kernel's gather against a plain loop:
// bounds included and excluded as documented, NaN never in range.
func TestIndicesInRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 2))
	for _, kn := range kernels {
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 32000} {
			for _, bounds := range [][2]float32{{-1, 2}, {0, 0}, {-100, 100}, {5, 6}} {
				lo, hi := bounds[0], bounds[1]
				x := selectInput(rng, n, false, lo, hi)
				var want []int32
				for i, v := range x {
					if v >= lo && v < hi {
						want = append(want, int32(i))
					}
				}
				dst := make([]int32, n)
				got := dst[:kn.indicesIn(dst, x, lo, hi)]
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Fatalf("%s n=%d [%g, %g): %d indices, want %d (first difference at %d)", kn.name, n, lo, hi, len(got), len(want), firstDiff(got, want))
				}
			}
		}
	}
}

func firstDiff(a, b []int32) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
