package lab

import "runtime"

// heapWatch measures the peak memory of a training run for the
// DPO-against-RLHF comparison: the live heap (after a forced garbage
// collection, so garbage awaiting collection does not count) above the
// live heap when the watch started, sampled at a few fixed points of the
// run (the trainers call sample every few steps). It is the memory the
// method itself kept: models, optimizer state, activations, encoded data.
type heapWatch struct {
	base, peak uint64
}

func startHeapWatch() *heapWatch {
	b := liveHeapNow()
	return &heapWatch{base: b, peak: b}
}

// sample records the live heap now.
func (h *heapWatch) sample() { h.peak = max(h.peak, liveHeapNow()) }

// stop takes a last sample and returns the peak in MiB above the start.
func (h *heapWatch) stop() float64 {
	h.sample()
	return float64(h.peak-h.base) / (1 << 20)
}

// liveHeapNow collects garbage and returns the heap in use.
func liveHeapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
