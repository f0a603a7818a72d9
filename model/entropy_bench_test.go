package model_test

import (
	"testing"

	"github.com/alignlab/alignlab/model"
)

// BenchmarkTokenLogProbs times TokenLogProbs with and without entropies at
// the TinyStories-15M shape (dim 288, 6 layers, vocab 32000) on B=8, T=64:
// the difference is what the RL trainers' entropy metrics cost per forward.
//
//	go test ./model -run XXX -bench TokenLogProbs -benchtime 5x
func BenchmarkTokenLogProbs(b *testing.B) {
	const B, T = 8, 64
	cfg := model.LlamaConfig(32000, 256, 6, 6, 6, 288, 768)
	m, err := model.New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	tokens := make([]int32, B*T)
	for i := range tokens {
		tokens[i] = int32((i * 7919) % cfg.VocabSize)
	}
	for _, bc := range []struct {
		name    string
		entropy []float32
	}{{"no-entropy", nil}, {"entropy", make([]float32, B*T)}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.TokenLogProbs(tokens, nil, B, T, bc.entropy); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
