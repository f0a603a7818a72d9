package enginebench

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMedianIntervalOrderStatistics checks which order statistics the
// interval takes and the coverage it states, against the binomial sums
// worked by hand.
func TestMedianIntervalOrderStatistics(t *testing.T) {
	seq := func(n int) []float64 { // n, n-1, ..., 1: unsorted on purpose
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(n - i)
		}
		return xs
	}
	for _, c := range []struct {
		n             int
		lo, hi, cover float64
	}{
		{1, 1, 1, 0},
		{3, 1, 3, 0.75},                    // 1 - 2/8: three rounds cannot reach 95%
		{7, 1, 7, 1 - 2.0/128},             // j=2 would give 1 - 16/128 = 87.5%
		{8, 1, 8, 1 - 2.0/256},             // j=2 would give 1 - 18/256 = 93.0%
		{9, 2, 8, 1 - 2*10.0/512},          // 96.1%
		{20, 6, 15, 1 - 2*21700.0/(1<<20)}, // P(Bin(20,1/2) <= 5) = 21700/2^20
	} {
		xs := seq(c.n)
		got := medianInterval(xs, ciLevel)
		if got.Lo != c.lo || got.Hi != c.hi || math.Abs(got.Coverage-c.cover) > 1e-12 || got.Rounds != c.n {
			t.Errorf("n=%d: got %+v, want [%v, %v] coverage %v", c.n, got, c.lo, c.hi, c.cover)
		}
		if xs[0] != float64(c.n) {
			t.Errorf("n=%d: the input was reordered", c.n)
		}
	}
	if got := medianInterval(nil, ciLevel); got != (Interval{}) {
		t.Errorf("empty input: got %+v, want the zero Interval", got)
	}
}

// TestMedianIntervalCoverage draws rounds from a skewed distribution
// (exponential, median ln 2) and checks that the intervals bracket the
// true median as often as they claim.
func TestMedianIntervalCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const trials = 20000
	for _, n := range []int{7, 9, 20} {
		xs := make([]float64, n)
		hits := 0
		var claimed float64
		for range trials {
			for i := range xs {
				xs[i] = rng.ExpFloat64()
			}
			iv := medianInterval(xs, ciLevel)
			claimed = iv.Coverage
			if iv.Lo <= math.Ln2 && math.Ln2 <= iv.Hi {
				hits++
			}
		}
		got := float64(hits) / trials
		// Three binomial standard errors at the claimed coverage.
		tol := 3 * math.Sqrt(claimed*(1-claimed)/trials)
		if math.Abs(got-claimed) > tol {
			t.Errorf("n=%d: intervals covered the median in %.4f of trials, claimed %.4f (tolerance %.4f)", n, got, claimed, tol)
		}
	}
}
