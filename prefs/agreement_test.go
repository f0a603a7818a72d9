package prefs

import (
	"math"
	"testing"
)

func TestKrippendorffAndFleiss(t *testing.T) {
	// Perfect agreement gives 1; labels independent of the item give ~0.
	perfect := []labelCounts{{0, 3, 0}, {0, 0, 3}, {0, 3, 0}, {0, 0, 2}}
	if a, _, ok := krippendorff(perfect); !ok || math.Abs(a-1) > 1e-12 {
		t.Errorf("alpha(perfect) = %v, %v", a, ok)
	}
	if k, ok := fleiss(perfect); !ok || math.Abs(k-1) > 1e-12 {
		t.Errorf("fleiss(perfect) = %v, %v", k, ok)
	}
	// Hand-computed: two items, labels {tie, tie, second} and {second,
	// second, second}. Coincidences: o_tt=1, o_ts=o_st=1, o_ss=1+3=4, n=6.
	// Label counts (first 0, tie 2, second 4) with the wins pooled: 2, 2, 2.
	// alpha = 1 - (n-1)(o_ts+o_st) / sum_{c!=k} n_c n_k = 1 - 5*2/24 = 7/12.
	u := []labelCounts{{0, 2, 1}, {0, 0, 3}}
	if a, _, _ := krippendorff(u); math.Abs(a-7.0/12) > 1e-12 {
		t.Errorf("alpha = %v, want 7/12", a)
	}
	// Fleiss on the same: P1 = (2+0)/6 = 1/3, P2 = 1; Pbar = 2/3;
	// pooled p = 1/3 each; Pe = 1/3; kappa = (2/3-1/3)/(2/3) = 0.5.
	if k, _ := fleiss(u); math.Abs(k-0.5) > 1e-12 {
		t.Errorf("fleiss = %v, want 0.5", k)
	}
	// Which response of a pair is first is arbitrary: flipping items'
	// orientation (first and second wins swapped) changes neither.
	flip := func(u labelCounts) labelCounts { return labelCounts{u[2], u[1], u[0]} }
	mixed := []labelCounts{{3, 1, 0}, {0, 2, 2}, {1, 0, 3}, {2, 2, 0}, {4, 0, 1}}
	a0, _, _ := krippendorff(mixed)
	k0, _ := fleiss(mixed)
	for mask := 1; mask < 1<<len(mixed); mask++ {
		f := append([]labelCounts(nil), mixed...)
		for i := range f {
			if mask>>i&1 == 1 {
				f[i] = flip(f[i])
			}
		}
		a, _, _ := krippendorff(f)
		k, _ := fleiss(f)
		if math.Abs(a-a0) > 1e-12 || math.Abs(k-k0) > 1e-12 {
			t.Fatalf("flipping items %b: alpha %v -> %v, kappa %v -> %v", mask, a0, a, k0, k)
		}
	}
}
