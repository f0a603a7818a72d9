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
	// Hand-computed: two items, labels {A,A,B} and {B,B,B}, 2 categories.
	// Coincidences: o_AA=1, o_AB=o_BA=1, o_BB=1+3=4; n_A=2, n_B=4, n=6.
	// alpha = 1 - (n-1) * (o_AB+o_BA) / (2 n_A n_B) = 1 - 5*2/16 = 0.375.
	u := []labelCounts{{0, 2, 1}, {0, 0, 3}}
	if a, _, _ := krippendorff(u); math.Abs(a-0.375) > 1e-12 {
		t.Errorf("alpha = %v, want 0.375", a)
	}
	// Fleiss on the same: P1 = (2+0)/6 = 1/3, P2 = 1; Pbar = 2/3;
	// p_A = 2/6, p_B = 4/6; Pe = 1/9+4/9 = 5/9; kappa = (2/3-5/9)/(4/9) = 0.25.
	if k, _ := fleiss(u); math.Abs(k-0.25) > 1e-12 {
		t.Errorf("fleiss = %v, want 0.25", k)
	}
}
