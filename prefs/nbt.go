package prefs

import "math"

// Noisy Bradley-Terry, as crowd-kit's NoisyBradleyTerry: annotator a
// prefers the left response of item i with probability
//
//	p = q_a * sigmoid(d_i) + (1 - q_a) * beta_a,   q_a = sigmoid(gamma_a), beta_a = sigmoid(b_a)
//
// where d_i is the score difference (left minus right) of the pair, q_a the
// annotator's skill (how often they judge by quality at all) and beta_a
// their bias towards the first-shown response when they do not. Unlike
// crowd-kit, scores live on pairs (d_i) rather than on single responses:
// in preference data a response almost never recurs across pairs. Fit by
// diagonal Fisher scoring (gradient ascent scaled by the expected
// information) with a weak Gaussian prior that keeps single-label items
// and one-sided annotators finite.

type nbtFit struct {
	skill, bias []float64 // q_a, beta_a
	d           []float64
}

const (
	nbtIters  = 60
	nbtPriorD = 0.01
	nbtPriorA = 0.05
)

func (a *auditor) fitNBT(byItem groups) nbtFit {
	rows := a.c.rows
	nAnn, nItem := len(a.c.anns), len(a.c.items)
	d := make([]float64, nItem)
	gam := make([]float64, nAnn)
	b := make([]float64, nAnn)
	// Start from the weighted majority so that the likelihood's
	// label-switching twin (everyone adversarial) is not chosen.
	for it := 0; it < nItem; it++ {
		var net float64
		for _, r := range byItem.of(it) {
			net += a.weights[rows[r].ann] * float64(rows[r].label)
		}
		d[it] = math.Max(-2, math.Min(2, net))
	}
	for i := range gam {
		gam[i] = 0
	}
	type acc struct{ gg, fg, gb, fb []float64 }
	nw := workers()
	accs := make([]acc, nw)
	for w := range accs {
		accs[w] = acc{make([]float64, nAnn), make([]float64, nAnn), make([]float64, nAnn), make([]float64, nAnn)}
	}
	for iter := 0; iter < nbtIters; iter++ {
		for w := range accs {
			clear(accs[w].gg)
			clear(accs[w].fg)
			clear(accs[w].gb)
			clear(accs[w].fb)
		}
		parallelForW(nItem, nw, func(w, lo, hi int) {
			ac := &accs[w]
			for it := lo; it < hi; it++ {
				var gd, fd float64
				for _, r := range byItem.of(it) {
					row := &rows[r]
					if row.label == 0 {
						continue
					}
					o := float64(row.left)
					y := 0.0
					if row.label == row.left {
						y = 1
					}
					q, be := sigmoid(gam[row.ann]), sigmoid(b[row.ann])
					s := sigmoid(o * d[it])
					p := q*s + (1-q)*be
					p = math.Min(math.Max(p, 1e-9), 1-1e-9)
					g := y/p - (1-y)/(1-p)
					info := 1 / (p * (1 - p))
					dpd := q * s * (1 - s) * o
					dpg := q * (1 - q) * (s - be)
					dpb := (1 - q) * be * (1 - be)
					gd += g * dpd
					fd += info * dpd * dpd
					ac.gg[row.ann] += g * dpg
					ac.fg[row.ann] += info * dpg * dpg
					ac.gb[row.ann] += g * dpb
					ac.fb[row.ann] += info * dpb * dpb
				}
				d[it] += clamp((gd-nbtPriorD*d[it])/(fd+nbtPriorD), 1)
			}
		})
		for an := 0; an < nAnn; an++ {
			var gg, fg, gb, fb float64
			for w := range accs {
				gg += accs[w].gg[an]
				fg += accs[w].fg[an]
				gb += accs[w].gb[an]
				fb += accs[w].fb[an]
			}
			gam[an] += clamp((gg-nbtPriorA*gam[an])/(fg+nbtPriorA), 1)
			b[an] += clamp((gb-nbtPriorA*b[an])/(fb+nbtPriorA), 1)
		}
	}
	fit := nbtFit{skill: make([]float64, nAnn), bias: make([]float64, nAnn), d: d}
	for an := range gam {
		fit.skill[an] = sigmoid(gam[an])
		fit.bias[an] = sigmoid(b[an])
	}
	return fit
}

func clamp(x, m float64) float64 { return math.Max(-m, math.Min(m, x)) }
