package model

import (
	"testing"
)

// Generation benchmarks on the shapes of llama2.c's stories models (tied
// embeddings, vocab 32000), random weights: one op generates a full context
// from a one-token prompt, sampling at temperature 1 (a softmax and one draw
// over the vocabulary per token, as llama2.c does). Compare tok/s with
// llama2.c's `run` on the same machine.
//
//	go test ./model/ -run '^$' -bench Generate -benchtime 1x

// stories15M is llama2.c's stories15M.bin shape.
func stories15M() Config {
	c := LlamaConfig(32000, 256, 6, 6, 6, 288, 768)
	c.TieEmbeddings = true
	return c
}

// stories110M is llama2.c's stories110M.bin shape.
func stories110M() Config {
	c := LlamaConfig(32000, 1024, 12, 12, 12, 768, 2048)
	c.TieEmbeddings = true
	return c
}

func benchGenerate(b *testing.B, cfg Config, batch, newTokens int) {
	m, err := New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	prompts := make([][]int32, batch)
	for i := range prompts {
		prompts[i] = []int32{1} // BOS, as llama2.c starts
	}
	gc := GenerateConfig{MaxNewTokens: newTokens, Temperature: 1, Seed: 1}
	tokens := 0
	b.ResetTimer()
	for b.Loop() {
		gens, err := m.Generate(prompts, gc)
		if err != nil {
			b.Fatal(err)
		}
		for _, g := range gens {
			tokens += len(g.Tokens)
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkGenerate15M is single-stream generation, 255 new tokens.
func BenchmarkGenerate15M(b *testing.B) { benchGenerate(b, stories15M(), 1, 255) }

// BenchmarkGenerate110M is single-stream generation, 255 new tokens (skipped
// under -short: the model takes 440 MB and a few seconds to initialise).
func BenchmarkGenerate110M(b *testing.B) {
	if testing.Short() {
		b.Skip("110M model skipped under -short")
	}
	benchGenerate(b, stories110M(), 1, 255)
}

// BenchmarkGenerateBatch16_15M generates 16 sequences at once, 255 new
// tokens each; tok/s counts all of them.
func BenchmarkGenerateBatch16_15M(b *testing.B) { benchGenerate(b, stories15M(), 16, 255) }
