package sae

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/internal/procstat"
	"github.com/alignlab/alignlab/tensor"
)

// BenchmarkSAE times one training step (forward, backward, Adam) on a
// batch of 4096 activations at GPT-2 small's width (d_in 768, d_sae 6144)
// and a lab-sized one (288, 2304), TopK k=32 with AuxK, and ReLU+L1 at
// initialisation and at a trained SAE's sparsity, and reports activations per second of
// wall time (acts/s) and what the CPU time spent implies on idle cores
// (acts/s@idle: activations per CPU-second times the kernel threads).
//
//	go test -run - -bench SAE -benchtime 3x ./interp/sae/
func BenchmarkSAE(b *testing.B) {
	const batch = 4096
	for _, shape := range [][2]int{{288, 2304}, {768, 6144}} {
		for _, c := range []struct {
			name string
			arch Architecture
			bEnc float32
		}{{"topk", TopK, 0}, {"relu-init", Standard, 0}, {"relu-L0-1pct", Standard, -2.33}} {
			arch, d, m := c.arch, shape[0], shape[1]
			b.Run(fmt.Sprintf("%s/d_in=%d/d_sae=%d", c.name, d, m), func(b *testing.B) {
				s, err := New(d, m, arch, 32, 1)
				if err != nil {
					b.Fatal(err)
				}
				// relu-init: about half the latents fire (the dense path);
				// relu-L0-1pct: b_enc at the 99th percentile of the
				// pre-activations (unit-variance here), about 1% fire, as in
				// a trained SAE (the sparse path).
				for j := range s.BEnc {
					s.BEnc[j] = c.bEnc
				}
				rng := rand.New(rand.NewPCG(1, 1))
				x := make([]float32, batch*d)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				// DeadTokens 1: every latent that misses a batch is dead, so
				// TopK steps include the AuxK term's full cost.
				tr, err := NewTrainer(s, TrainConfig{Batch: batch, LR: 1e-4, L1Coeff: 1, DeadTokens: 1})
				if err != nil {
					b.Fatal(err)
				}
				tr.Step(x, batch) // sizes the buffers
				b.ResetTimer()
				cpu0 := procstat.CPUTime()
				var st StepStats
				for i := 0; i < b.N; i++ {
					st = tr.Step(x, batch)
				}
				cpu := procstat.CPUTime() - cpu0
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "acts/s")
				b.ReportMetric(st.L0, "L0")
				// On a shared machine wall time depends on the load; CPU time
				// divided over the cores used is the steadier figure.
				b.ReportMetric(float64(b.N*batch)/cpu.Seconds()*float64(tensor.Threads()), "acts/s@idle")
			})
		}
	}
}
