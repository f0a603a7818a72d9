package interp_test

import (
	"fmt"

	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/model"
)

// Keep one hook per layer at the last position, with the gradient of a
// logit difference there.
func ExampleRunWithCache() {
	m, err := model.New(model.GPT2Config(50, 16, 2, 2, 8), 1)
	if err != nil {
		panic(err)
	}
	tokens := []int32{1, 2, 3, 4}
	c, err := interp.RunWithCache(m, tokens, 1, len(tokens), interp.CacheOptions{
		Filter: interp.NamesFilter{Names: []string{"blocks.*.hook_resid_post"}, Positions: []int{-1}},
		Metric: interp.LogitDiffMetric(-1, 7, 9),
	})
	if err != nil {
		panic(err)
	}
	for _, name := range c.Names {
		fmt.Println(name, c.Get(name).Shape, len(c.Grads[name].Data))
	}
	// Output:
	// blocks.0.hook_resid_post [1 1 8] 8
	// blocks.1.hook_resid_post [1 1 8] 8
}

// Patch the clean run's last residual stream into a corrupted run.
func ExampleRunPatched() {
	m, err := model.New(model.GPT2Config(50, 16, 2, 2, 8), 1)
	if err != nil {
		panic(err)
	}
	clean, corrupt := []int32{1, 2, 3}, []int32{1, 5, 3}
	c, err := interp.RunWithCache(m, clean, 1, 3, interp.CacheOptions{Filter: interp.NamesFilter{Names: []string{"blocks.1.hook_resid_post"}}})
	if err != nil {
		panic(err)
	}
	logits, err := interp.RunPatched(m, corrupt, 1, 3, []interp.Patch{{Hook: "blocks.1.hook_resid_post", Source: c.Get("blocks.1.hook_resid_post")}})
	if err != nil {
		panic(err)
	}
	same := true
	for i, v := range logits {
		same = same && v == c.Logits[i]
	}
	fmt.Println("clean logits restored:", same)
	// Output: clean logits restored: true
}
