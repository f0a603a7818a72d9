package train_test

import (
	"fmt"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/train"
)

// ExampleLMTrainer trains a tiny GPT-2 family model on one repeated
// sentence with warmup + cosine learning rates and gradient clipping.
func ExampleLMTrainer() {
	corpus := []int32{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2}
	m, err := model.New(model.GPT2Config(10, 16, 1, 2, 16), 1)
	if err != nil {
		panic(err)
	}
	cfg := train.DefaultAdamWConfig()
	cfg.LR = 1e-2
	tr := train.NewLMTrainer(m, cfg)
	tr.MaxGradNorm = 1
	tr.LR = func(step int) float32 { return train.CosineSchedule(step, 5, 100, 1e-2, 1e-3) }
	tokens, targets := make([]int32, 16), make([]int32, 16)
	if err := train.NextTokenBatch(corpus, []int{0}, 16, tokens, targets); err != nil {
		panic(err)
	}
	var first, last train.StepStats
	for i := 0; i < 100; i++ {
		st, err := tr.TrainStep(tokens, targets, nil, 1, 16)
		if err != nil {
			panic(err) // e.g. "step 17: loss is NaN; lower the learning rate or check the data"
		}
		if i == 0 {
			first = st
		}
		last = st
	}
	fmt.Printf("loss fell from about ln 10 to below 0.1: %v\n", first.Loss > 2 && last.Loss < 0.1)
	// Output: loss fell from about ln 10 to below 0.1: true
}
