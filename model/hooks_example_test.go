package model_test

import (
	"fmt"
	"log"
	"math"

	"github.com/alignlab/alignlab/model"
)

// Attention knockout: setting an entry of attn.hook_attn_scores to -Inf
// stops that query from attending to that key; the rest of its row is
// renormalised by the softmax that follows, as hook_pattern shows.
func ExampleHooks_knockout() {
	m, err := model.New(model.GPT2Config(64, 16, 2, 2, 32), 1)
	if err != nil {
		log.Fatal(err)
	}
	const T, query, key = 4, 3, 1
	h := model.NewHooks()
	h.Add("blocks.0.attn.hook_attn_scores", func(_ string, act []float32, shape []int) {
		// [batch, head, query, key]: knock key 1 out of query 3, every head.
		for head := 0; head < shape[1]; head++ {
			act[(head*T+query)*T+key] = float32(math.Inf(-1))
		}
	})
	h.Add("blocks.0.attn.hook_pattern", func(_ string, act []float32, _ []int) {
		row := act[query*T : (query+1)*T] // head 0
		sum := row[0] + row[1] + row[2] + row[3]
		fmt.Printf("weight on key 1: %g, row sum: %.3f\n", row[key], sum)
	})
	if _, err := m.Forward([]int32{5, 6, 7, 8}, 1, T, h); err != nil {
		log.Fatal(err)
	}
	// Output: weight on key 1: 0, row sum: 1.000
}
