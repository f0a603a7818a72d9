package model

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGeneratePerSequenceSeeds: with per-sequence Seeds, sequence i samples as it
// does alone with Seed = Seeds[i], whatever its batch neighbours' seeds.
func TestGeneratePerSequenceSeeds(t *testing.T) {
	cfg := genTestConfigs()["gpt2"]
	m := genTestModel(t, cfg, 3)
	prompts := genTestPrompts(rand.New(rand.NewPCG(5, 5)), cfg.VocabSize, 4, 11, 1, 6)
	seeds := []int64{901, 17, 3, 17}
	gc := GenerateConfig{MaxNewTokens: 10, Temperature: 1.2, Seeds: seeds}
	batch, err := m.Generate(prompts, gc)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range prompts {
		alone, err := m.Generate([][]int32{p}, GenerateConfig{MaxNewTokens: 10, Temperature: 1.2, Seed: seeds[i]})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(alone[0].Tokens, batch[i].Tokens) {
			t.Fatalf("prompt %d: alone %v, in batch %v", i, alone[0].Tokens, batch[i].Tokens)
		}
	}
	if _, err := m.Generate(prompts, GenerateConfig{MaxNewTokens: 4, Seeds: seeds[:2]}); err == nil {
		t.Fatal("2 seeds for 4 prompts: want an error")
	}
}
