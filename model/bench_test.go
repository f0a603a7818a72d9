package model_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/alignlab/alignlab/internal/procstat"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/train"
)

// BenchmarkTrainStep times a full training step, train.LMTrainer.TrainStep
// (ZeroGrad, Loss, Backward, gradient norm, clipped AdamW), and reports
// ms/step, GFLOPS by model.TrainFLOPs, CPU seconds per step (steadier than
// wall time on a shared machine) and the process's peak RSS. The
// GPT-2 124M shape (llm.c's train_gpt2 at B=4, T=64) is skipped under
// -short; run it alone for a meaningful peak RSS:
//
//	go test ./model -run XXX -bench 'TrainStep/gpt2-124M' -benchtime 3x
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  model.Config
		B, T int
		long bool
	}{
		{"gpt2-small-4L-256", model.GPT2Config(2048, 64, 4, 4, 256), 4, 64, false},
		{"llama-small-4L-256", model.LlamaConfig(2048, 64, 4, 8, 2, 256, 688), 4, 64, false},
		{"gpt2-124M", model.GPT2Config(50257, 1024, 12, 12, 768), 4, 64, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.long && testing.Short() {
				b.Skip("GPT-2 124M runs only without -short")
			}
			m, err := model.New(bc.cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			tr := train.NewLMTrainer(m, train.DefaultAdamWConfig())
			tr.MaxGradNorm = 1
			rng := rand.New(rand.NewPCG(1, 1))
			tokens, targets := make([]int32, bc.B*bc.T), make([]int32, bc.B*bc.T)
			for i := range tokens {
				tokens[i], targets[i] = int32(rng.IntN(bc.cfg.VocabSize)), int32(rng.IntN(bc.cfg.VocabSize))
			}
			step := func() {
				if _, err := tr.TrainStep(tokens, targets, nil, bc.B, bc.T); err != nil {
					b.Fatal(err)
				}
			}
			step() // allocate gradients and activations outside the timing
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), procstat.CPUTime().Seconds()
			for b.Loop() {
				step()
			}
			per := time.Since(start).Seconds() / float64(b.N)
			b.ReportMetric((procstat.CPUTime().Seconds()-cpu0)/float64(b.N), "CPU-s/step")
			b.ReportMetric(per*1e3, "ms/step")
			b.ReportMetric(model.TrainFLOPs(bc.cfg, bc.B, bc.T)/per/1e9, "GFLOPS")
			if rss := procstat.PeakRSSMB(); rss > 0 {
				b.ReportMetric(rss, "peak-RSS-MB")
			}
		})
	}
}

// BenchmarkForward compares Forward with nil hooks against an empty hook
// set: nil must allocate nothing in package model and cost nothing extra.
func BenchmarkForward(b *testing.B) {
	cfg := model.GPT2Config(2048, 64, 4, 4, 256)
	m, _ := model.New(cfg, 1)
	tokens := make([]int32, 4*64)
	for i := range tokens {
		tokens[i] = int32(i % cfg.VocabSize)
	}
	for _, bc := range []struct {
		name  string
		hooks *model.Hooks
	}{{"nil-hooks", nil}, {"empty-hooks", model.NewHooks()}} {
		b.Run(bc.name, func(b *testing.B) {
			_, _ = m.Forward(tokens, 4, 64, bc.hooks)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Forward(tokens, 4, 64, bc.hooks); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
