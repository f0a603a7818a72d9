package probe

import (
	"fmt"
	"math"
	"sort"

	"github.com/alignlab/alignlab/audit"
)

// z95 is the standard normal quantile for two-sided 95% intervals.
const z95 = 1.959963984540054

// AUROC returns the area under the ROC curve of scores for labels (1 is
// the positive class): the probability that a random positive scores above
// a random negative, ties counting one half (the Mann-Whitney statistic).
// It is an error when either class is empty.
func AUROC(scores []float64, labels []int) (float64, error) {
	s, err := DeLong(scores, labels)
	return s.Estimate, err
}

// DeLong returns the AUROC with DeLong's 95% interval (the variance from
// the structural components of the Mann-Whitney statistic, ties counting
// one half), clipped to [0, 1].
func DeLong(scores []float64, labels []int) (audit.Stat, error) {
	auc, se, err := delong(scores, labels)
	if err != nil {
		return audit.Stat{}, err
	}
	return audit.Stat{Estimate: auc, CILow: math.Max(0, auc-z95*se), CIHigh: math.Min(1, auc+z95*se),
		N: len(scores), Test: "AUROC (Mann-Whitney, ties 1/2), DeLong 95% CI"}, nil
}

// delong returns the AUROC and DeLong's standard error.
func delong(scores []float64, labels []int) (auc, se float64, err error) {
	if len(scores) != len(labels) {
		return 0, 0, fmt.Errorf("auroc: %d scores for %d labels", len(scores), len(labels))
	}
	var pos, neg []float64
	for i, y := range labels {
		switch y {
		case 1:
			pos = append(pos, scores[i])
		case 0:
			neg = append(neg, scores[i])
		default:
			return 0, 0, fmt.Errorf("auroc: label %d at row %d (want 0 or 1)", y, i)
		}
		if math.IsNaN(scores[i]) {
			return 0, 0, fmt.Errorf("auroc: score at row %d is NaN", i)
		}
	}
	m, n := len(pos), len(neg)
	if m == 0 || n == 0 {
		return 0, 0, fmt.Errorf("auroc: %d positives and %d negatives; need both classes", m, n)
	}
	// V10[i]: share of negatives that positive i beats; V01[j]: share of
	// positives that beat negative j. Counted by binary search over the
	// sorted other class, so the cost is O((m+n) log(m+n)).
	sp := append([]float64(nil), pos...)
	sn := append([]float64(nil), neg...)
	sort.Float64s(sp)
	sort.Float64s(sn)
	below := func(sorted []float64, x float64) (lt, eq int) {
		lt = sort.SearchFloat64s(sorted, x)
		hi := sort.Search(len(sorted), func(k int) bool { return sorted[k] > x })
		return lt, hi - lt
	}
	v10 := make([]float64, m)
	for i, x := range pos {
		lt, eq := below(sn, x)
		v10[i] = (float64(lt) + 0.5*float64(eq)) / float64(n)
		auc += v10[i]
	}
	auc /= float64(m)
	v01 := make([]float64, n)
	for j, x := range neg {
		lt, eq := below(sp, x)
		v01[j] = (float64(m-lt-eq) + 0.5*float64(eq)) / float64(m)
	}
	variance := 0.0
	if m > 1 {
		variance += sampleVar(v10) / float64(m)
	}
	if n > 1 {
		variance += sampleVar(v01) / float64(n)
	}
	return auc, math.Sqrt(variance), nil
}

func sampleVar(xs []float64) float64 {
	mu := 0.0
	for _, x := range xs {
		mu += x
	}
	mu /= float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mu) * (x - mu)
	}
	return ss / float64(len(xs)-1)
}
