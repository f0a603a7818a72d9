package steer

import (
	"fmt"

	"github.com/alignlab/alignlab/model"
)

// Pair is one sample of one prompt generated without and with steering,
// from the same random stream, so any difference is the steering's.
type Pair struct {
	Prompt, Sample int
	// Seed is the sampling seed both generations used.
	Seed    int64
	Plain   model.Generation
	Steered model.Generation
}

// Compare generates n samples of every prompt under gc twice, without
// hooks and with hooks (gc.Hooks is ignored), and pairs them up: sample s
// of prompt i is batch row i·n+s in both runs and draws from seed
// gc.Seed+i·n+s. Results are ordered by prompt, then sample.
func Compare(m *model.Model, prompts [][]int32, n int, gc model.GenerateConfig, hooks *model.Hooks) ([]Pair, error) {
	if n < 1 {
		return nil, fmt.Errorf("steer compare: %d samples per prompt, want at least 1", n)
	}
	batch := make([][]int32, 0, len(prompts)*n)
	for _, p := range prompts {
		for range n {
			batch = append(batch, p)
		}
	}
	gc.Hooks, gc.Seeds = nil, nil
	plain, err := m.Generate(batch, gc)
	if err != nil {
		return nil, fmt.Errorf("steer compare: unsteered: %w", err)
	}
	gc.Hooks = hooks
	steered, err := m.Generate(batch, gc)
	if err != nil {
		return nil, fmt.Errorf("steer compare: steered: %w", err)
	}
	out := make([]Pair, len(batch))
	for j := range batch {
		out[j] = Pair{Prompt: j / n, Sample: j % n, Seed: gc.Seed + int64(j), Plain: plain[j], Steered: steered[j]}
	}
	return out, nil
}
