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
// information, floored so that flat directions take small steps) with a
// weak Gaussian prior; every parameter is capped at |6| on the logit
// scale (a unanimous item's or a perfect annotator's likelihood keeps
// rising to infinity). At most 30 iterations, fewer when the annotator
// parameters stop moving.

type nbtFit struct {
	skill, bias []float64 // q_a, beta_a
	d           []float64
	iters       int
}

const (
	nbtIters  = 30
	nbtTol    = 5e-3
	nbtMaxD   = 6
	nbtFloor  = 0.05
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
	type acc struct{ gg, fg, gb, fb, n []float64 }
	nw := workers()
	accs := make([]acc, nw)
	for w := range accs {
		accs[w] = acc{make([]float64, nAnn), make([]float64, nAnn), make([]float64, nAnn), make([]float64, nAnn), make([]float64, nAnn)}
	}
	q := make([]float64, nAnn)
	be := make([]float64, nAnn)
	iters := 0
	for iters < nbtIters {
		iters++
		for an := range q {
			q[an], be[an] = sigmoid(gam[an]), sigmoid(b[an])
		}
		for w := range accs {
			clear(accs[w].gg)
			clear(accs[w].fg)
			clear(accs[w].gb)
			clear(accs[w].fb)
			clear(accs[w].n)
		}
		parallelForW(nItem, nw, func(w, lo, hi int) {
			ac := &accs[w]
			for it := lo; it < hi; it++ {
				var gd, fd, nd float64
				sd := sigmoid(d[it]) // sigmoid(-d) = 1 - sigmoid(d)
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
					q, be := q[row.ann], be[row.ann]
					s := sd
					if row.left < 0 {
						s = 1 - sd
					}
					p := q*s + (1-q)*be
					if p < 1e-9 { // plain compares: math.Min/Max are slow here
						p = 1e-9
					} else if p > 1-1e-9 {
						p = 1 - 1e-9
					}
					g := y/p - (1-y)/(1-p)
					info := 1 / (p * (1 - p))
					dpd := q * s * (1 - s) * o
					dpg := q * (1 - q) * (s - be)
					dpb := (1 - q) * be * (1 - be)
					gd += g * dpd
					nd++
					fd += info * dpd * dpd
					ac.gg[row.ann] += g * dpg
					ac.fg[row.ann] += info * dpg * dpg
					ac.gb[row.ann] += g * dpb
					ac.fb[row.ann] += info * dpb * dpb
					ac.n[row.ann]++
				}
				// |d| is capped: a unanimous item's likelihood keeps rising
				// towards infinity, and beyond sigmoid(6) = 0.998 nothing
				// about the annotators changes.
				old := d[it]
				// The information floor damps Newton steps where the
				// likelihood is flat (an item labelled only by annotators
				// of no skill), which otherwise bounce between caps.
				d[it] = clamp(old+clamp((gd-nbtPriorD*old)/max(fd+nbtPriorD, nbtFloor*nd), 1), nbtMaxD)

			}
		})
		// Convergence is judged on the annotators' parameters, which are
		// what the audit reports; some of many items always still creep.
		moved := 0.0
		for an := 0; an < nAnn; an++ {
			var gg, fg, gb, fb, n float64
			for w := range accs {
				gg += accs[w].gg[an]
				fg += accs[w].fg[an]
				gb += accs[w].gb[an]
				fb += accs[w].fb[an]
				n += accs[w].n[an]
			}
			// Skill and bias are capped like d: 0.0025 and 0.9975 are
			// as good as 0 and 1, and the cap lets the fit converge.
			g0, b0 := gam[an], b[an]
			gam[an] = clamp(g0+clamp((gg-nbtPriorA*g0)/max(fg+nbtPriorA, nbtFloor*n), 1), nbtMaxD)
			b[an] = clamp(b0+clamp((gb-nbtPriorA*b0)/max(fb+nbtPriorA, nbtFloor*n), 1), nbtMaxD)
			moved = math.Max(moved, math.Max(math.Abs(gam[an]-g0), math.Abs(b[an]-b0)))
		}
		if moved < nbtTol {
			break
		}
	}
	fit := nbtFit{skill: make([]float64, nAnn), bias: make([]float64, nAnn), d: d, iters: iters}
	for an := range gam {
		fit.skill[an] = sigmoid(gam[an])
		fit.bias[an] = sigmoid(b[an])
	}
	return fit
}

func clamp(x, m float64) float64 { return math.Max(-m, math.Min(m, x)) }
