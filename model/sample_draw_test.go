package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDrawKept checks the blocked draw over candidates against the plain
// running sum: candidate lists of every length around the four-wide
// blocks, in scrambled index order, with u just below and at each prefix
// sum, and u at or past the total (the last candidate).
func TestDrawKept(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 1; n <= 13; n++ {
		probs := make([]float32, 32)
		for i := range probs {
			probs[i] = float32(1+rng.IntN(8)) / 64 // exact in float32 and float64
		}
		kept := make([]int32, n)
		for i, j := range rng.Perm(len(probs))[:n] {
			kept[i] = int32(j)
		}
		for _, u := range drawPoints(kept, probs) {
			if got, want := drawKept(kept, probs, u), drawRef(kept, probs, u); got != want {
				t.Errorf("n=%d u=%v: drew %d, want %d", n, u, got, want)
			}
		}
	}
}

// TestDrawNucleus checks the draw over a nucleus set (the tokens at or
// above its floor in index order, then its boundary list) against the
// plain running sum, with u just below and at each prefix sum and past the
// total, on vocabularies around the block sums' length. The probabilities
// are small dyadic fractions, so every sum is exact in float32 and float64
// and the two must agree token for token.
func TestDrawNucleus(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	s := NewSampler(0)
	for _, V := range []int{1, 5, 63, 64, 65, 200, 1000} {
		for trial := range 4 {
			probs := make([]float32, V)
			for i := range probs {
				probs[i] = float32(rng.IntN(9)) / 64
			}
			floor := float32(1+rng.IntN(8)) / 64
			if trial == 3 {
				floor = float32(math.Inf(1)) // nothing above the floor
			}
			var order []int32
			var upper float64
			for i, p := range probs {
				if p >= floor {
					order = append(order, int32(i))
					upper += float64(p)
				}
			}
			var rest []int32
			for i, p := range probs {
				if p < floor && p > 0 && rng.IntN(2) == 0 {
					rest = append(rest, int32(i))
				}
			}
			if len(order)+len(rest) == 0 {
				continue
			}
			order = append(order, rest...)
			ns := nucleusSet{floor: floor, upper: upper, rest: rest}
			for _, u := range drawPoints(order, probs) {
				if got, want := s.drawNucleus(probs, ns, u), drawRef(order, probs, u); got != want {
					t.Fatalf("V=%d trial %d u=%v: drew %d, want %d", V, trial, u, got, want)
				}
			}
		}
	}
}

// drawRef is the plain draw the blocked ones must match: the first
// candidate, in order, at which the running sum of probs passes u; the
// last one if none does.
func drawRef(order []int32, probs []float32, u float64) int {
	var acc float64
	for _, i := range order {
		if acc += float64(probs[i]); u < acc {
			return int(i)
		}
	}
	return int(order[len(order)-1])
}

// drawPoints are the draws worth checking over candidates in order: 0,
// just below and at each prefix sum, and past the total.
func drawPoints(order []int32, probs []float32) []float64 {
	var acc float64
	us := []float64{0}
	for _, i := range order {
		acc += float64(probs[i])
		us = append(us, acc-1.0/256, acc)
	}
	return append(us, acc+1)
}
