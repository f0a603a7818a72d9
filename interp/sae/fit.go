package sae

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/tensor"
)

// FitConfig is a whole training run over a set of cached activations.
type FitConfig struct {
	TrainConfig
	// Steps is the number of Adam steps.
	Steps int
	// Seed orders the batches.
	Seed uint64
	// MedianInit sets b_dec to the geometric median of (up to 4096 of)
	// the activations; otherwise to their mean.
	MedianInit bool
	// NormalizeActivations trains on the activations scaled so that their
	// mean norm is sqrt(d_in) (SAELens's "expected_average_only_in"), so
	// that an L1 coefficient means the same at any layer and model; the
	// scale is folded into the weights when training ends, so the SAE
	// reads raw activations. Training statistics are in scaled units.
	NormalizeActivations bool
	// Every is how often (in steps) Progress is called; 0 means every
	// Steps/20.
	Every int
	// Progress, when set, sees the statistics every Every steps and at
	// the last step.
	Progress func(StepStats)
}

// Fit trains s on the n rows of x (n×DIn), drawing batches without
// replacement in a seeded order (reshuffled each epoch), and returns the
// statistics of every step.
func Fit(s *SAE, x []float32, n int, c FitConfig) ([]StepStats, error) {
	if n < 1 || len(x) < n*s.DIn {
		return nil, fmt.Errorf("sae: %d activations of width %d need %d floats, have %d", n, s.DIn, n*s.DIn, len(x))
	}
	if c.Steps < 1 {
		return nil, fmt.Errorf("sae: steps %d must be positive", c.Steps)
	}
	c.Batch = min(max(c.Batch, 1), n)
	t, err := NewTrainer(s, c.TrainConfig)
	if err != nil {
		return nil, err
	}
	if c.NormalizeActivations {
		sf := NormScale(x, n, s.DIn)
		scaled := make([]float32, n*s.DIn)
		for i, v := range x[:n*s.DIn] {
			scaled[i] = v * sf
		}
		x = scaled
		defer s.FoldInputScale(sf)
	}
	every := c.Every
	if every <= 0 {
		every = max(1, c.Steps/20)
	}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0xf17))
	order := rng.Perm(n)
	pos := 0
	d := s.DIn
	// b_dec from a random sample of up to 4096 activations (cached
	// activations come in text order, so the first ones are not a sample).
	m := min(n, 4096)
	sample := make([]float32, m*d)
	for r, i := range order[:m] {
		copy(sample[r*d:(r+1)*d], x[i*d:(i+1)*d])
	}
	s.InitBDec(sample, m, c.MedianInit)
	batch := make([]float32, c.Batch*d)
	stats := make([]StepStats, 0, c.Steps)
	for step := 0; step < c.Steps; step++ {
		for r := 0; r < c.Batch; r++ {
			if pos == n {
				rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
				pos = 0
			}
			i := order[pos]
			pos++
			copy(batch[r*d:(r+1)*d], x[i*d:(i+1)*d])
		}
		st := t.Step(batch, c.Batch)
		stats = append(stats, st)
		if c.Progress != nil && (st.Step%every == 0 || step == c.Steps-1) {
			c.Progress(st)
		}
	}
	return stats, nil
}

// NormScale is the factor that brings the mean norm of the n rows of x
// (width d) to sqrt(d).
func NormScale(x []float32, n, d int) float32 {
	var sum float64
	for r := 0; r < n; r++ {
		sum += float64(norm(x[r*d : (r+1)*d]))
	}
	if sum == 0 {
		return 1
	}
	return float32(math.Sqrt(float64(d)) * float64(n) / sum)
}

// FoldInputScale turns an SAE trained on activations scaled by sf into
// one that reads and reconstructs raw activations (SAELens's
// fold_activation_norm_scaling_factor): W_enc·sf, W_dec/sf, b_dec/sf. The
// latents are unchanged.
func (s *SAE) FoldInputScale(sf float32) {
	tensor.Scale(sf, s.WEnc)
	tensor.Scale(1/sf, s.WDec)
	tensor.Scale(1/sf, s.BDec)
}
