package model

import (
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
		ref := func(u float64) int {
			var acc float64
			for _, i := range kept {
				acc += float64(probs[i])
				if u < acc {
					return int(i)
				}
			}
			return int(kept[n-1])
		}
		var acc float64
		us := []float64{0}
		for _, i := range kept {
			acc += float64(probs[i])
			us = append(us, acc-1.0/256, acc)
		}
		us = append(us, acc+1)
		for _, u := range us {
			if got, want := drawKept(kept, probs, u), ref(u); got != want {
				t.Errorf("n=%d u=%v: drew %d, want %d", n, u, got, want)
			}
		}
	}
}
