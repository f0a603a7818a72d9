package enginebench

import (
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// ciLevel is the confidence the benchmark's intervals aim for.
const ciLevel = 0.95

// Interval is a confidence interval for the median of a figure measured in
// several rounds. On a shared machine the rounds' spread comes mostly from
// other work on the cores and memory, which is not normally distributed, so
// the interval makes no assumption about the distribution: it is a pair of
// order statistics of the rounds.
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// Coverage is the interval's exact confidence: the probability that
	// the j-th smallest and j-th largest of n independent rounds bracket
	// the median, 1 - 2·P(Binomial(n, 1/2) < j). With few rounds it can
	// fall short of ciLevel (3 rounds give at most 75%) or exceed it.
	Coverage float64 `json:"coverage"`
	// Rounds is n.
	Rounds int `json:"rounds"`
}

// medianInterval returns the narrowest order-statistic interval
// [x_(j), x_(n+1-j)] for the median of the distribution xs were drawn from
// whose coverage is at least level, or [min, max] with its coverage when
// even that falls short. It leaves xs as it is; an empty xs gives the zero
// Interval.
func medianInterval(xs []float64, level float64) Interval {
	n := len(xs)
	if n == 0 {
		return Interval{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	bin := distuv.Binomial{N: float64(n), P: 0.5}
	coverage := func(j int) float64 { return 1 - 2*bin.CDF(float64(j-1)) }
	j := 1
	for j+1 <= (n+1)/2 && coverage(j+1) >= level {
		j++
	}
	return Interval{Lo: s[j-1], Hi: s[n-j], Coverage: coverage(j), Rounds: n}
}
