package prefs

import (
	"runtime"
	"sync"
)

func workers() int { return max(1, runtime.GOMAXPROCS(0)) }

// parallelFor splits [0, n) into contiguous chunks, one per worker.
func parallelFor(n int, f func(lo, hi int)) {
	parallelForW(n, workers(), func(_, lo, hi int) { f(lo, hi) })
}

// parallelForW is parallelFor that also passes the worker index, for
// per-worker accumulators.
func parallelForW(n, nw int, f func(w, lo, hi int)) {
	if n < 4096 || nw == 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + nw - 1) / nw
	for w := 0; w < nw; w++ {
		lo, hi := w*chunk, min(n, (w+1)*chunk)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() { defer wg.Done(); f(w, lo, hi) }()
	}
	wg.Wait()
}
