package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets how many goroutines the kernels split work across.
// n < 1 means runtime.GOMAXPROCS(0).
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	threads.Store(int32(n))
}

// Threads reports how many goroutines the kernels split work across.
func Threads() int { return int(threads.Load()) }

// Parallel splits [0, n) into at most Threads() contiguous chunks and runs
// fn(lo, hi) on each, concurrently, returning when all are done. Small n or
// a single thread runs inline with no goroutine.
//
// The chunks after the first go to pooled workers (a new goroutine when
// none is free, as in nested calls). Token-by-token decoding makes several
// short calls per layer, tens of microseconds each, and waking a parked
// goroutine costs about as much; so a worker that finishes spins (yielding)
// for poolSpin waiting for the next chunk before it parks, and the caller,
// done with its own chunk, spins the same way waiting for the workers.
func Parallel(n int, fn func(lo, hi int)) {
	t := Threads()
	if t > n {
		t = n
	}
	if t <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	j := new(join)
	chunk := (n + t - 1) / t
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		j.add()
		if w := idleWorker(); w != nil {
			w.start(fn, lo, hi, j)
			continue
		}
		go func(lo, hi int) {
			defer j.done()
			fn(lo, hi)
		}(lo, hi)
	}
	fn(0, min(chunk, n))
	j.wait()
}

// join waits for a call's chunks. A caller that finishes its own chunk
// first yields in a loop for up to poolSpin before it blocks: waking a
// goroutine blocked in a WaitGroup costs about 10 µs on a 2-core Zen3 VM
// (a Parallel call of two 5 µs chunks took 14 µs that way, 7 µs with the
// spin), and stories15M decodes a token in about 31 such calls.
type join struct {
	pending atomic.Int32
	wg      sync.WaitGroup
}

func (j *join) add() {
	j.pending.Add(1)
	j.wg.Add(1)
}

func (j *join) done() {
	j.pending.Add(-1)
	j.wg.Done()
}

func (j *join) wait() {
	spinUntil(func() bool { return j.pending.Load() == 0 })
	j.wg.Wait()
}

// spinUntil yields in a loop until done reports true, for at most
// poolSpin, and says whether it did.
func spinUntil(done func() bool) bool {
	start := time.Now()
	for i := 0; !done(); i++ {
		if i%64 == 63 && time.Since(start) > poolSpin {
			return false
		}
		runtime.Gosched()
	}
	return true
}

// poolSpin is how long an idle worker yields in a loop, ready for the next
// chunk at the cost of an atomic load, before it parks on its channel (and
// how long a caller yields waiting for its workers). It outlasts the
// serial gaps of a decode step: sampling one row of a 32000-token
// vocabulary takes about 110 µs.
const poolSpin = 300 * time.Microsecond

// poolWorker is a pooled goroutine. Its task fields are written by the
// caller that took it off the idle list, before ready is set, and read by
// the worker after it sees ready.
type poolWorker struct {
	fn     func(lo, hi int)
	lo, hi int
	j      *join
	ready  atomic.Bool
	parked atomic.Bool
	wake   chan struct{}
}

var pool struct {
	sync.Mutex
	idle []*poolWorker
	n    int // workers started
}

// idleWorker takes a worker off the idle list, starting one if fewer than
// 2·GOMAXPROCS exist, or returns nil.
func idleWorker() *poolWorker {
	pool.Lock()
	defer pool.Unlock()
	if k := len(pool.idle); k > 0 {
		w := pool.idle[k-1]
		pool.idle = pool.idle[:k-1]
		return w
	}
	if pool.n >= 2*runtime.GOMAXPROCS(0) {
		return nil
	}
	pool.n++
	w := &poolWorker{wake: make(chan struct{}, 1)}
	go w.loop()
	return w
}

// start hands the worker fn over [lo, hi), waking it if it has parked.
// parked is checked after ready is set and the worker checks ready again
// after it sets parked, so one of the two sees the other.
func (w *poolWorker) start(fn func(lo, hi int), lo, hi int, j *join) {
	w.fn, w.lo, w.hi, w.j = fn, lo, hi, j
	w.ready.Store(true)
	if w.parked.Load() {
		select {
		case w.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// loop runs tasks forever: each done, the worker returns to the idle list
// and waits for the next.
func (w *poolWorker) loop() {
	for {
		w.await()
		fn, lo, hi, j := w.fn, w.lo, w.hi, w.j
		w.fn, w.j = nil, nil
		w.ready.Store(false)
		fn(lo, hi)
		pool.Lock()
		pool.idle = append(pool.idle, w)
		pool.Unlock()
		j.done()
	}
}

// await returns once a task is ready: spinning for poolSpin, then parked.
func (w *poolWorker) await() {
	if spinUntil(w.ready.Load) {
		return
	}
	w.parked.Store(true)
	for !w.ready.Load() {
		<-w.wake
	}
	w.parked.Store(false)
}

// parallelChunks runs fn over [0, n) in chunks of chunk elements, which up
// to t threads take from a shared counter (a thread that loses its core
// holds up one chunk, not a fixed share); inline for one thread or chunk.
func parallelChunks(n, chunk, t int, fn func(lo, hi int)) {
	chunks := ceilDiv(n, chunk)
	if chunks == 0 {
		return
	}
	var next atomic.Int64
	work := func(_, _ int) {
		for {
			ci := int(next.Add(1) - 1)
			if ci >= chunks {
				return
			}
			lo := ci * chunk
			fn(lo, min(lo+chunk, n))
		}
	}
	if t > 1 && chunks > 1 {
		Parallel(min(t, chunks), work)
	} else {
		work(0, 1)
	}
}
