package model_test

import (
	"fmt"
	"log"

	"github.com/alignlab/alignlab/model"
)

// Generate continues a batch of prompts; each sequence samples from its own
// seeded stream, and LogProbs are under the unmodified model.
func ExampleModel_Generate() {
	m, err := model.New(model.LlamaConfig(512, 64, 2, 4, 2, 64, 128), 1)
	if err != nil {
		log.Fatal(err)
	}
	gens, err := m.Generate([][]int32{{1, 5, 9}, {1}}, model.GenerateConfig{
		MaxNewTokens: 8, Temperature: 0.8, TopK: 40, TopP: 0.95, StopTokens: []int32{2}, Seed: 7,
	})
	if err != nil {
		log.Fatal(err)
	}
	for i, g := range gens {
		var logp float32
		for _, lp := range g.LogProbs {
			logp += lp
		}
		fmt.Printf("prompt %d: %d tokens, stopped %v, log p = %.2f\n", i, len(g.Tokens), g.Stopped, logp)
	}
}

// A KV cache decodes step by step: Prefill takes whole prompts, DecodeStep
// one token per active sequence, and a finished sequence is set inactive.
func ExampleModel_DecodeStep() {
	m, err := model.New(model.GPT2Config(512, 64, 2, 4, 64), 1)
	if err != nil {
		log.Fatal(err)
	}
	cache := m.NewKVCache(2, 16)
	logits, err := m.Prefill(cache, [][]int32{{1, 2, 3}, {4}})
	if err != nil {
		log.Fatal(err)
	}
	V := m.Config.VocabSize
	s0, s1 := model.NewSampler(1), model.NewSampler(2)
	next := []int32{s0.Sample(logits[:V], 0, 0, 0).Token, s1.Sample(logits[V:], 0, 0, 0).Token}
	if _, err := m.DecodeStep(cache, next); err != nil {
		log.Fatal(err)
	}
	cache.SetActive(1, false) // sequence 1 is done
	if _, err := m.DecodeStep(cache, []int32{7}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(cache.Len(0), cache.Len(1))
	// Output: 5 2
}
