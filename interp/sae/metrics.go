package sae

import "math"

// Metrics are an SAE's reconstruction and sparsity on a set of activations.
type Metrics struct {
	// N is the number of activations evaluated.
	N int `json:"n"`
	// MSE is ‖x - x̂‖² summed over d_in, averaged over activations.
	MSE float64 `json:"mse"`
	// ExplainedVariance is 1 - Σ‖x - x̂‖² / Σ‖x - x̄‖².
	ExplainedVariance float64 `json:"explained_variance"`
	// L0 is the mean number of latents firing per activation.
	L0 float64 `json:"l0"`
	// DeadFraction is the fraction of latents that fired on none of them.
	DeadFraction float64 `json:"dead_fraction"`
	// Firing is each latent's firing frequency.
	Firing []float64 `json:"-"`
}

// evalChunk bounds the activations encoded at once (and so the dense
// latent buffer, chunk × DSae floats).
const evalChunk = 1024

// Evaluate runs s over the n rows of x (n×DIn).
func Evaluate(s *SAE, x []float32, n int) Metrics {
	d, m := s.DIn, s.DSae
	mean := make([]float64, d)
	for r := 0; r < n; r++ {
		for i, v := range x[r*d : (r+1)*d] {
			mean[i] += float64(v)
		}
	}
	for i := range mean {
		mean[i] /= float64(max(n, 1))
	}
	var sse, sst, l0 float64
	fired := make([]float64, m)
	f := make([]float32, evalChunk*m)
	pre := make([]float32, evalChunk*m)
	xh := make([]float32, evalChunk*d)
	for lo := 0; lo < n; lo += evalChunk {
		c := min(evalChunk, n-lo)
		xc := x[lo*d : (lo+c)*d]
		s.Encode(xc, c, f, pre)
		s.Decode(f, c, xh)
		for i, v := range xc {
			e := float64(xh[i] - v)
			sse += e * e
			t := float64(v) - mean[i%d]
			sst += t * t
		}
		for r := 0; r < c; r++ {
			for j, v := range f[r*m : (r+1)*m] {
				if v > 0 {
					l0++
					fired[j]++
				}
			}
		}
	}
	met := Metrics{N: n, Firing: fired}
	if n == 0 {
		return met
	}
	dead := 0
	for j := range fired {
		if fired[j] == 0 {
			dead++
		}
		fired[j] /= float64(n)
	}
	met.MSE = sse / float64(n)
	met.ExplainedVariance = 1 - sse/math.Max(sst, 1e-30)
	met.L0 = l0 / float64(n)
	met.DeadFraction = float64(dead) / float64(m)
	return met
}
