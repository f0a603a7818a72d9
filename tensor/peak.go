package tensor

import (
	"sync"
	"time"
)

// PeakGFLOPS measures the machine's float32 multiply-add peak over about d:
// Threads() goroutines each run a loop of independent FMAs, 16-wide with
// AVX-512 and 8-wide with AVX2, and the total flops are divided by the
// wall time. A benchmark reports sgemm as a fraction of this, measured in
// the same run on the same load.
// Without an assembly loop (other architectures, purego) it measures a
// scalar Go multiply-add loop instead, the ceiling of the portable kernel.
func PeakGFLOPS(d time.Duration) float64 {
	t := Threads()
	const iters = 1 << 16 // about 0.2 ms per call at 3 GHz
	start := time.Now()
	deadline := start.Add(d)
	total := make([]float64, t)
	var wg sync.WaitGroup
	for w := 0; w < t; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				f, ok := peakLoop(iters)
				if !ok {
					f = scalarPeakLoop(iters)
				}
				total[w] += f
				if time.Now().After(deadline) {
					return
				}
			}
		}(w)
	}
	wg.Wait()
	var sum float64
	for _, f := range total {
		sum += f
	}
	return sum / time.Since(start).Seconds() / 1e9
}

// scalarSink keeps the scalar loop's result live.
var scalarSink float32

// scalarPeakLoop runs eight independent multiply-add chains in Go.
func scalarPeakLoop(iters int) float64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	x, y := float32(0.999), float32(1e-3)
	for i := 0; i < iters; i++ {
		s0 = s0*x + y
		s1 = s1*x + y
		s2 = s2*x + y
		s3 = s3*x + y
		s4 = s4*x + y
		s5 = s5*x + y
		s6 = s6*x + y
		s7 = s7*x + y
	}
	scalarSink = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
	return float64(iters) * 16
}
