package sae

import (
	"fmt"
	"math/rand/v2"
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
	m := min(n, 4096)
	s.InitBDec(x, m, c.MedianInit)
	every := c.Every
	if every <= 0 {
		every = max(1, c.Steps/20)
	}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0xf17))
	order := rng.Perm(n)
	pos := 0
	d := s.DIn
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
