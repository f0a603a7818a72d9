package tensor

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestParallelCoversEachIndexOnce(t *testing.T) {
	saved := Threads()
	defer SetThreads(saved)
	for _, threads := range []int{1, 2, 3, 8} {
		for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 100, 1001} {
			t.Run(fmt.Sprintf("t%d/n%d", threads, n), func(t *testing.T) {
				SetThreads(threads)
				hits := make([]atomic.Int32, n)
				var calls atomic.Int32
				Parallel(n, func(lo, hi int) {
					calls.Add(1)
					if lo >= hi {
						t.Errorf("empty chunk [%d,%d)", lo, hi)
					}
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				})
				for i := range hits {
					if h := hits[i].Load(); h != 1 {
						t.Fatalf("index %d visited %d times", i, h)
					}
				}
				if c := int(calls.Load()); c > threads {
					t.Errorf("%d chunks for %d threads", c, threads)
				}
			})
		}
	}
}

func TestSetThreads(t *testing.T) {
	saved := Threads()
	defer SetThreads(saved)
	SetThreads(5)
	if Threads() != 5 {
		t.Fatalf("Threads() = %d after SetThreads(5)", Threads())
	}
	SetThreads(0)
	if Threads() < 1 {
		t.Fatalf("SetThreads(0) gave %d threads", Threads())
	}
}

// TestParallelWaitsForSlowChunks checks that Parallel returns only after
// every chunk has finished, both when the workers finish while the caller
// is still spinning and when one outlasts poolSpin, so that the caller
// blocks; and that the pool works again afterwards.
func TestParallelWaitsForSlowChunks(t *testing.T) {
	saved := Threads()
	defer SetThreads(saved)
	SetThreads(4)
	for _, d := range []time.Duration{0, 20 * time.Microsecond, poolSpin / 2, 3 * poolSpin} {
		t.Run(d.String(), func(t *testing.T) {
			for range 3 {
				var finished atomic.Int32
				Parallel(4, func(lo, _ int) {
					if lo == 3 { // the last chunk, always a worker's
						time.Sleep(d)
					}
					finished.Add(1)
				})
				if f := finished.Load(); f != 4 {
					t.Fatalf("Parallel returned with %d of 4 chunks finished", f)
				}
			}
		})
	}
}

// BenchmarkParallelShort times Parallel calls whose chunks spin for a few
// microseconds, as a decode step's are: ns/op less the chunk is the
// hand-off's cost.
func BenchmarkParallelShort(b *testing.B) {
	for _, d := range []time.Duration{0, 5 * time.Microsecond, 20 * time.Microsecond} {
		b.Run(d.String(), func(b *testing.B) {
			for b.Loop() {
				Parallel(Threads(), func(_, _ int) {
					for start := time.Now(); time.Since(start) < d; {
					}
				})
			}
		})
	}
}
