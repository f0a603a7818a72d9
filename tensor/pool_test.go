package tensor

import (
	"fmt"
	"sync/atomic"
	"testing"
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
