package tensor

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/alignlab/alignlab/internal/procstat"
)

// benchShape is one product of the GPT-2 124M training step at B·T = 256
// rows, or a decoding matvec.
type benchShape struct {
	name           string
	m, n, k        int
	transA, transB bool
}

// gpt2Layers are (out, in) of the linear layers: qkv, attention output, mlp
// fc, mlp proj, and the tied LM head.
var gpt2Layers = []struct {
	name    string
	out, in int
}{{"qkv", 2304, 768}, {"attnproj", 768, 768}, {"fc", 3072, 768}, {"proj", 768, 3072}, {"lmhead", 50257, 768}}

func benchShapes() []benchShape {
	const rows = 256
	var s []benchShape
	for _, l := range gpt2Layers {
		// forward out = in·Wᵀ, input gradient din = dout·W, weight
		// gradient dW = doutᵀ·in.
		s = append(s,
			benchShape{l.name + "/fwd", rows, l.out, l.in, false, true},
			benchShape{l.name + "/dinp", rows, l.in, l.out, false, false},
			benchShape{l.name + "/dW", l.out, l.in, rows, true, false})
	}
	return append(s,
		benchShape{"matvec/32000x288", 1, 32000, 288, false, true},
		benchShape{"matvec/32000x768", 1, 32000, 768, false, true})
}

// peakMeter interleaves FMA-peak measurements with the timed work: after
// each Gemm call the timer stops and the peak loop runs for as long as the
// call took. Load from other processes on the shared machine then weighs
// on both figures alike, and %peak compares like with like. It also keeps
// the process CPU time of both, for %peakCPU: efficiency while running,
// which leaves out time the threads were descheduled or idle.
type peakMeter struct {
	flops, workFlops float64
	dur              time.Duration
	cpu, workCPU     time.Duration
}

// sample accounts one call of the work (flops in wall time d, CPU time
// cpu) and runs the peak loop for as long.
func (p *peakMeter) sample(b *testing.B, flops float64, d, cpu time.Duration) {
	b.StopTimer()
	p.workFlops += flops
	p.workCPU += cpu
	d = max(d, 2*time.Millisecond)
	c0 := procstat.CPUTime()
	g := PeakGFLOPS(d)
	p.cpu += procstat.CPUTime() - c0
	p.flops += g * 1e9 * d.Seconds()
	p.dur += d
	b.StartTimer()
}

func (p *peakMeter) gflops() float64 { return p.flops / p.dur.Seconds() / 1e9 }

// report adds GFLOPS, the peak, %peak and %peakCPU to b's metrics.
func (p *peakMeter) report(b *testing.B) {
	gf := p.workFlops / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(gf, "GFLOPS")
	b.ReportMetric(p.gflops(), "peakGFLOPS")
	b.ReportMetric(100*gf/p.gflops(), "%peak")
	if p.cpu > 0 && p.workCPU > 0 {
		b.ReportMetric(100*(p.workFlops/p.workCPU.Seconds())/(p.flops/p.cpu.Seconds()), "%peakCPU")
	}
}

func BenchmarkPeak(b *testing.B) {
	var g float64
	for i := 0; i < b.N; i++ {
		g = PeakGFLOPS(200 * time.Millisecond)
	}
	b.ReportMetric(g, "GFLOPS")
	b.ReportMetric(g/float64(Threads()), "GFLOPS/thread")
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	for _, s := range benchShapes() {
		b.Run(fmt.Sprintf("%s/%dx%dx%d", s.name, s.m, s.n, s.k), func(b *testing.B) {
			a := randSlice(rng, s.m*s.k)
			bm := randSlice(rng, s.k*s.n)
			c := make([]float32, s.m*s.n)
			lda, ldb := s.k, s.n
			if s.transA {
				lda = s.m
			}
			if s.transB {
				ldb = s.k
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			var pm peakMeter
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st, c0 := time.Now(), procstat.CPUTime()
				Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
				pm.sample(b, flops, time.Since(st), procstat.CPUTime()-c0)
			}
			pm.report(b)
		})
	}
}
