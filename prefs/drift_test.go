package prefs

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPermutationMatchesKolmogorov backs the shortcut for long streams:
// on stationary streams the permutation p-value and the asymptotic
// Kolmogorov tail agree closely, so the limit can stand in for the
// permutations where each one would cost a pass over a million rows.
func TestPermutationMatchesKolmogorov(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	compared := 0
	ns := []int{2000, 20000}
	if raceEnabled {
		ns = ns[:1]
	}
	for _, n := range ns {
		for trial := 0; trial < 4; trial++ {
			x := make([]uint8, n)
			for i := range x {
				if rng.Float64() < 0.7 {
					x[i] = 1
				}
			}
			// A mild shift so that p is neither ~1 nor ~0.
			for i := n / 2; i < n; i++ {
				if x[i] == 1 && rng.Float64() < 0.02 {
					x[i] = 0
				}
			}
			cp := detectChange(x, 4000, uint64(trial))
			if cp.method != "permutation" {
				continue
			}
			compared++
			pk := kolmogorovTail(cp.stat)
			if math.Abs(cp.p-pk) > 0.05+0.3*pk {
				t.Errorf("n=%d: permutation p %.4f vs Kolmogorov %.4f", n, cp.p, pk)
			}
		}
	}
	if compared < 4 {
		t.Errorf("only %d streams were tested by permutation", compared)
	}
}

// TestDetectChange: a planted shift is found near its place and is
// significant; a stationary stream is not.
func TestDetectChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, at := 3000, 1000
	x := make([]uint8, n)
	for i := range x {
		p := 0.8
		if i >= at {
			p = 0.55
		}
		if rng.Float64() < p {
			x[i] = 1
		}
	}
	cp := detectChange(x, 999, 1)
	if cp.p > 0.001 || math.Abs(float64(cp.k-at)) > 0.05*float64(n) {
		t.Errorf("planted change at %d: found k=%d p=%g", at, cp.k, cp.p)
	}
	for i := range x {
		x[i] = 0
		if rng.Float64() < 0.7 {
			x[i] = 1
		}
	}
	if cp := detectChange(x, 999, 2); cp.p < 0.01 {
		t.Errorf("stationary stream: p=%g", cp.p)
	}
}
