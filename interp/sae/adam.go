package sae

import (
	"math"

	"github.com/alignlab/alignlab/tensor"
)

// update takes one Adam step on every parameter. Unless the L1 term is
// weighted by the decoder norms, the decoder rows are held at unit norm:
// the gradient's component along each row is removed first (it would only
// change the norm) and the rows are renormalised after.
func (t *Trainer) update() {
	s, c := t.SAE, &t.Cfg
	d := s.DIn
	keepUnit := !(s.Arch == Standard && c.ScaleL1ByDecoderNorm)
	if keepUnit {
		tensor.Parallel(s.DSae, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				w, g := s.WDec[j*d:(j+1)*d], t.gWDec[j*d:(j+1)*d]
				tensor.Axpy(-tensor.Dot(w, g), w, g)
			}
		})
	}
	lr := c.LR
	if c.LRWarmupSteps > 0 && t.step < c.LRWarmupSteps {
		lr *= float64(t.step+1) / float64(c.LRWarmupSteps)
	}
	n := float64(t.step + 1)
	bc1, bc2 := 1-math.Pow(c.Beta1, n), 1-math.Pow(c.Beta2, n)
	step := float32(lr / bc1)
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	isq := float32(1 / math.Sqrt(bc2))
	params := [4][]float32{s.WEnc, s.BEnc, s.WDec, s.BDec}
	grads := [4][]float32{t.gWEnc, t.gBEnc, t.gWDec, t.gBDec}
	for p := range params {
		w, g, a := params[p], grads[p], t.adam[p]
		tensor.Parallel(len(w), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				gi := g[i]
				a.m[i] = b1*a.m[i] + (1-b1)*gi
				a.v[i] = b2*a.v[i] + (1-b2)*gi*gi
				w[i] -= step * a.m[i] / (float32(math.Sqrt(float64(a.v[i])))*isq + 1e-8)
			}
		})
	}
	if keepUnit {
		s.NormalizeDecoder()
	}
}

// DeadFraction is the fraction of latents that have not fired in the last
// DeadTokens activations seen in training.
func (t *Trainer) DeadFraction() float64 {
	n := 0
	for _, v := range t.since {
		if v >= t.Cfg.DeadTokens {
			n++
		}
	}
	return float64(n) / float64(len(t.since))
}
