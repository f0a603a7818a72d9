//go:build unix

package interp

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time so far: on a shared
// machine it measures work done, where wall time measures the queue.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCacheOverhead124M alternates a plain Forward (logits copied
// out, as RunWithCache copies them) and RunWithCache of every hook point
// in the same loop, so both see the same machine load, and reports the
// ratios cache/forward of their fastest wall times and of their total CPU
// times; the target is <= 2.
//
//	go test ./interp/ -run '^$' -bench CacheOverhead124M -benchtime 10x
func BenchmarkCacheOverhead124M(b *testing.B) {
	m := gpt2Small(b)
	toks := testTokens(64, m.Config.VocabSize, 1)
	out := make([]float32, 64*m.Config.VocabSize)
	var bestF, bestC, cpuF, cpuC time.Duration
	for b.Loop() {
		t0, c0 := time.Now(), cpuTime()
		logits, err := m.Forward(toks, 1, 64, nil)
		if err != nil {
			b.Fatal(err)
		}
		copy(out, logits)
		t1, c1 := time.Now(), cpuTime()
		if _, err := RunWithCache(m, toks, 1, 64, CacheOptions{}); err != nil {
			b.Fatal(err)
		}
		t2, c2 := time.Now(), cpuTime()
		if f := t1.Sub(t0); bestF == 0 || f < bestF {
			bestF = f
		}
		if c := t2.Sub(t1); bestC == 0 || c < bestC {
			bestC = c
		}
		cpuF += c1 - c0
		cpuC += c2 - c1
	}
	b.ReportMetric(float64(bestF.Milliseconds()), "forward-ms")
	b.ReportMetric(float64(bestC.Milliseconds()), "cache-ms")
	b.ReportMetric(float64(bestC)/float64(bestF), "wall-ratio")
	b.ReportMetric(float64(cpuC)/float64(cpuF), "cpu-ratio")
}
