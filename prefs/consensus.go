package prefs

import "math"

// Consensus: for each row, the weighted majority of the other annotators'
// labels on the same item (leave-one-out), and whether the row agrees with
// it. Weights are each annotator's log-odds of agreeing with the plain
// majority, from a first pass (one step of Dawid-Skene), so that spammers
// and biased annotators count for little.

// consensus returns agree[i] = 1/0 for rows whose leave-one-out consensus
// is defined and which are not ties, -1 otherwise.
func (a *auditor) consensus(byItem groups) []int8 {
	nAnn := len(a.c.anns)
	w := make([]float64, nAnn)
	for i := range w {
		w[i] = 1
	}
	var agree []int8
	for pass := 0; pass < 2; pass++ {
		agree = a.looAgree(byItem, w)
		k := make([]float64, nAnn)
		n := make([]float64, nAnn)
		for i, g := range agree {
			if g >= 0 {
				an := a.c.rows[i].ann
				n[an]++
				k[an] += float64(g)
			}
		}
		for i := range w {
			p := (k[i] + 1) / (n[i] + 2)
			w[i] = math.Max(0, math.Min(4, math.Log(p/(1-p))))
		}
	}
	a.weights = w
	return agree
}

func (a *auditor) looAgree(byItem groups, w []float64) []int8 {
	rows := a.c.rows
	agree := make([]int8, len(rows))
	for i := range agree {
		agree[i] = -1
	}
	parallelFor(len(a.c.items), func(lo, hi int) {
		for it := lo; it < hi; it++ {
			g := byItem.of(it)
			if len(g) < 2 {
				continue
			}
			var total float64
			for _, r := range g {
				total += w[rows[r].ann] * float64(rows[r].label)
			}
			for _, r := range g {
				row := &rows[r]
				if row.label == 0 {
					continue
				}
				// Leave out every label of this row's annotator on the item.
				s := total
				for _, o := range g {
					if rows[o].ann == row.ann {
						s -= w[row.ann] * float64(rows[o].label)
					}
				}
				switch {
				case s > 1e-9:
					agree[r] = b2i(row.label == 1)
				case s < -1e-9:
					agree[r] = b2i(row.label == -1)
				}
			}
		}
	})
	return agree
}

// cohenKappa is the kappa between an annotator's labels and the consensus
// on the n rows where both exist, agreeN of them alike (two categories:
// one response of the pair wins, or the other). Which response is which
// is arbitrary (a hash orders them, differently from run to run), so
// chance agreement uses the two categories' pooled shares, half each:
// pe = 1/2, and kappa = 2·po − 1. With the shares as observed, kappa
// moved from run to run on the same file.
func cohenKappa(n, agreeN int) *float64 {
	if n == 0 {
		return nil
	}
	po := float64(agreeN) / float64(n)
	const pe = 0.5
	k := (po - pe) / (1 - pe)
	return &k
}
