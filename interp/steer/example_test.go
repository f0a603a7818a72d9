package steer_test

import (
	"fmt"

	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/interp/steer"
	"github.com/alignlab/alignlab/model"
)

// Ablate a direction at every layer's residual stream while generating,
// as in directional ablation of a refusal direction.
func ExampleSpec() {
	m, err := model.New(model.GPT2Config(40, 32, 2, 2, 16), 1)
	if err != nil {
		panic(err)
	}
	dir := &interp.Direction{Hook: "blocks.0.hook_resid_post", Vector: make([]float32, 16)}
	dir.Vector[3] = 1
	hooks, err := steer.NewHooks(m.Config, steer.Spec{
		Direction: dir,
		Hooks:     steer.AtLayers([]int{0, 1}, "hook_resid_post"),
		Ablate:    true,
	})
	if err != nil {
		panic(err)
	}
	gens, err := m.Generate([][]int32{{1, 2, 3}}, model.GenerateConfig{MaxNewTokens: 4, Hooks: hooks})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(gens[0].Tokens), "tokens")
	// Output: 4 tokens
}
