package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// gemmPacked is the BLIS loop nest: for each kc×nc block of op(B) (packed
// once, shared by all threads, in L2/L3) and each mc×kc block of op(A)
// (in L2), the macro-kernel sweeps nr-wide panels of B (L1) against
// mr-tall panels of A with the micro-kernel. The blocks of B run as a
// pipeline (packedGemm): threads multiply one block while packing the
// next, taking items from a shared counter, so a thread slowed by other
// load simply takes fewer.
func gemmPacked(kn *kernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := kn.mr, kn.nr
	t := threadsFor(2 * m * n * k)

	kcMax := min(kn.kc, k)
	// Row blocks of at most mc rows, evenly sized, multiples of mr.
	mcb := roundUp(ceilDiv(m, ceilDiv(m, kn.mc)), mr)
	mBlocks := ceilDiv(m, mcb)
	kBlocks := ceilDiv(k, kcMax)

	// When A is small (the activations of a forward pass), it is packed
	// once for all B blocks (block (pc, mi) at ((pc/kc)·mBlocks + mi)·aBlock)
	// instead of once per block, and the B blocks are then narrower: a
	// block packed from a large, cold B (the LM head's weights) stays in
	// L2 and the part of L3 other processes leave us.
	aBlock := roundUp(mcb, mr) * kcMax
	cacheA := mBlocks*kBlocks*aBlock <= aCacheMax && n > kn.ncCachedA
	ncMax := kn.nc
	if cacheA {
		ncMax = kn.ncCachedA
	}
	ncMax = min(ncMax, roundUp(n, nr))
	// Two B buffers: one being multiplied, one being packed.
	bbuf0, bbuf1 := getBuf(&bPool, kcMax*ncMax), getBuf(&bPool, kcMax*ncMax)
	defer bPool.Put(bbuf0)
	defer bPool.Put(bbuf1)

	g := gemmPool.Get().(*packedGemm)
	defer func() {
		// Drop the matrices so the pooled state does not keep them alive.
		g.a, g.b, g.c, g.acache, g.bbuf = nil, nil, nil, nil, [2][]float32{}
		gemmPool.Put(g)
	}()
	*g = packedGemm{kn: kn, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
		kcMax: kcMax, ncMax: ncMax, mcb: mcb, mBlocks: mBlocks, kBlocks: kBlocks,
		aBlock: aBlock, bbuf: [2][]float32{*bbuf0, *bbuf1},
		start: g.start, packDone: g.packDone, multDone: g.multDone, tileDone: g.tileDone}
	if cacheA {
		abuf := getBuf(&cPool, mBlocks*kBlocks*aBlock)
		defer cPool.Put(abuf)
		g.acache = *abuf
		g.aItems = mBlocks * kBlocks
	}
	g.run(t)
}

// gemmPool recycles the scheduling state of packed products.
var gemmPool = sync.Pool{New: func() any { return new(packedGemm) }}

// packedGemm is one packed product, run as a pipeline over the (nc
// columns, kc depth) blocks of B, numbered s = 0, 1, ...: step s multiplies
// block s and packs block s+1 into the other of two buffers (step -1 packs
// block 0, and A when it is packed up front). All items of all steps are
// handed out in order from one counter, pack and multiply items
// alternating within a step, so one thread's memory-bound packing overlaps
// another's arithmetic. There are no barriers: an item waits (yielding)
// only for what it reads or overwrites — a multiply for its B block's
// packing and for the previous k block's multiply of the same C tile, a
// pack for the multiplies of the block two before it, which used the same
// buffer. Every dependency has a smaller index, so it is already running
// or done. A thread that finishes a step early starts on the next one
// (against a barrier per step, measured 4-12% faster on two threads:
// 256x768x768 125 -> 137 GFLOPS, LM head 129 -> 133).
type packedGemm struct {
	kn              *kernel
	transA, transB  bool
	m, n, k         int
	alpha, beta     float32
	a, b, c         []float32
	lda, ldb, ldc   int
	kcMax, ncMax    int
	mcb, mBlocks    int
	kBlocks, aBlock int
	acache          []float32    // A packed up front, or nil
	aItems          int          // pack items for acache, in step -1
	bbuf            [2][]float32 // packed B blocks, alternating
	t, nBlocks      int

	start    []int          // step s's items begin at start[s+1]
	packDone []atomic.Int32 // per block: pack items finished
	multDone []atomic.Int32 // per block: multiply items finished
	tileDone []atomic.Int32 // per multiply slot: 1 + last block finished
	aDone    atomic.Int32   // acache items finished
	next     atomic.Int64   // next item to hand out
}

// packGroup is how many B panels one pack item covers.
const packGroup = 8

// block returns the position of block s: its columns [jc, jc+nc), depth
// [pc, pc+kc) and panel count.
func (g *packedGemm) block(s int) (jc, nc, pc, kc, panels int) {
	jc = s / g.kBlocks * g.ncMax
	pc = s % g.kBlocks * g.kcMax
	nc = min(g.ncMax, g.n-jc)
	kc = min(g.kcMax, g.k-pc)
	return jc, nc, pc, kc, ceilDiv(nc, g.kn.nr)
}

// packs and mults count the pack and multiply items of block s.
func (g *packedGemm) packs(s int) int {
	_, _, _, _, panels := g.block(s)
	return ceilDiv(panels, packGroup)
}

func (g *packedGemm) mults(s int) int {
	_, _, _, _, panels := g.block(s)
	return g.mBlocks * g.nSplit(panels)
}

// nSplit is how many column ranges each row block of a block is cut into,
// so that every thread gets several multiply items.
func (g *packedGemm) nSplit(panels int) int {
	if g.t == 1 {
		return 1
	}
	return max(1, min(panels/4, ceilDiv(3*g.t, g.mBlocks)))
}

func (g *packedGemm) run(t int) {
	g.t = t
	g.nBlocks = ceilDiv(g.n, g.ncMax) * g.kBlocks
	g.start = resize(g.start, g.nBlocks+2)
	g.packDone = resizeAtomic(g.packDone, g.nBlocks)
	g.multDone = resizeAtomic(g.multDone, g.nBlocks)
	g.tileDone = resizeAtomic(g.tileDone, g.mults(0))
	g.start[0] = 0
	g.start[1] = g.aItems + g.packs(0)
	for s := 0; s < g.nBlocks; s++ {
		n := g.mults(s)
		if s+1 < g.nBlocks {
			n += g.packs(s + 1)
		}
		g.start[s+2] = g.start[s+1] + n
	}
	if t > 1 {
		Parallel(t, func(_, _ int) { g.work() })
	} else {
		g.work()
	}
}

func resize(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

func resizeAtomic(s []atomic.Int32, n int) []atomic.Int32 {
	if cap(s) < n {
		return make([]atomic.Int32, n)
	}
	s = s[:n]
	for i := range s {
		s[i].Store(0)
	}
	return s
}

// storeMax raises *v to n. (A plain store could go backwards: the first
// block of the next column range does not wait for the last of this one,
// so their multiplies of the same slot may finish in either order.)
func storeMax(v *atomic.Int32, n int) {
	for {
		old := v.Load()
		if int(old) >= n || v.CompareAndSwap(old, int32(n)) {
			return
		}
	}
}

// wait returns once *v reaches n. It yields for up to waitSpin, which
// covers the usual wait for an item another thread is finishing, then
// sleeps: on the shared host the thread waited on may have been
// descheduled, and a waiter spinning on its core would keep it out.
func wait(v *atomic.Int32, n int) {
	if int(v.Load()) >= n {
		return
	}
	start := time.Now()
	for i := 1; int(v.Load()) < n; i++ {
		if i%16 != 0 || time.Since(start) < waitSpin {
			runtime.Gosched()
		} else {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// waitSpin is how long wait yields before it sleeps.
var waitSpin = 200 * time.Microsecond

// work takes items until none are left.
func (g *packedGemm) work() {
	nr, mr := g.kn.nr, g.kn.mr
	total := g.start[len(g.start)-1]
	var abuf *[]float32
	s := -1
	for {
		it := int(g.next.Add(1) - 1)
		if it >= total {
			break
		}
		for it >= g.start[s+2] {
			s++
		}
		local := it - g.start[s+1]

		if s < 0 { // packing A up front, then block 0
			if local < g.aItems {
				pi, mi := local/g.mBlocks, local%g.mBlocks
				pc, i0 := pi*g.kcMax, mi*g.mcb
				packA(g.acache[local*g.aBlock:], g.a, g.lda, g.transA, i0, min(g.mcb, g.m-i0), pc, min(g.kcMax, g.k-pc), mr)
				g.aDone.Add(1)
			} else {
				g.packItem(0, local-g.aItems)
			}
			continue
		}

		packs, mults := 0, g.mults(s)
		if s+1 < g.nBlocks {
			packs = g.packs(s + 1)
		}
		// Alternate pack and multiply items while both remain.
		both := min(packs, mults)
		isPack, idx := packs > mults, local-both
		if local < 2*both {
			isPack, idx = local%2 == 0, local/2
		}
		if isPack {
			if s >= 1 { // the buffer held block s-1
				wait(&g.multDone[s-1], g.mults(s-1))
			}
			g.packItem(s+1, idx)
			continue
		}

		jc, nc, pc, kc, panels := g.block(s)
		wait(&g.packDone[s], g.packs(s))
		if pc > 0 { // the previous k block of this C tile first
			wait(&g.tileDone[idx], s)
		}
		splits := g.nSplit(panels)
		mi, ni := idx/splits, idx%splits
		i0 := mi * g.mcb
		mc := min(g.mcb, g.m-i0)
		q0, q1 := ni*panels/splits, (ni+1)*panels/splits
		if abuf == nil {
			abuf = getBuf(&aPool, g.mcb*g.kcMax+maxTile)
			defer aPool.Put(abuf)
		}
		var ap []float32
		if g.acache != nil {
			wait(&g.aDone, g.aItems)
			off := ((pc/g.kcMax)*g.mBlocks + mi) * g.aBlock
			ap = g.acache[off : off+roundUp(mc, mr)*kc]
		} else {
			ap = (*abuf)[:roundUp(mc, mr)*kc]
			packA(ap, g.a, g.lda, g.transA, i0, mc, pc, kc, mr)
		}
		bet := g.beta
		if pc > 0 {
			bet = 1 // later k blocks accumulate onto the first
		}
		j0 := q0 * nr
		ncols := min(q1*nr, nc) - j0
		macroKernel(g.kn, mc, ncols, kc, ap, g.bbuf[s&1][j0*kc:kc*panels*nr], g.c[i0*g.ldc+jc+j0:], g.ldc, g.alpha, bet, (*abuf)[g.mcb*g.kcMax:])
		storeMax(&g.tileDone[idx], s+1)
		g.multDone[s].Add(1)
	}
}

// packItem packs item idx (packGroup panels) of block s.
func (g *packedGemm) packItem(s, idx int) {
	nr := g.kn.nr
	jc, nc, pc, kc, panels := g.block(s)
	q0 := idx * packGroup
	q1 := min(q0+packGroup, panels)
	packB(g.bbuf[s&1][:kc*panels*nr], g.b, g.ldb, g.transB, pc, kc, jc, nc, nr, q0, q1)
	g.packDone[s].Add(1)
}

// macroKernel multiplies a packed mc×kc block of A by a packed kc×nc block
// of B into C. The B panel is the outer loop so it stays in L1 while the
// A panels stream from L2. Edge tiles go through tmp (maxTile floats; not
// a local array, which would escape to the heap through the kernel's
// function value on every call).
func macroKernel(kn *kernel, mc, nc, kc int, ap, bp, c []float32, ldc int, alpha, beta float32, tmp []float32) {
	mr, nr := kn.mr, kn.nr
	for jr := 0; jr < nc; jr += nr {
		nn := min(nr, nc-jr)
		bpan := bp[jr*kc : jr*kc+nr*kc]
		// The first tile of each B panel pulls the next panel into cache
		// (the hardware prefetcher does not run ahead across panels); the
		// others re-touch their own, already cached, panel.
		next := bpan
		if jr+nr < nc {
			next = bp[(jr+nr)*kc : (jr+2*nr)*kc]
		}
		for ir := 0; ir < mc; ir += mr {
			mm := min(mr, mc-ir)
			apan := ap[ir*kc : ir*kc+mr*kc]
			pf := bpan
			if ir == 0 {
				pf = next
			}
			if mm == mr && nn == nr {
				kn.micro(kc, apan, bpan, c[ir*ldc+jr:], ldc, alpha, beta, pf)
				continue
			}
			kn.micro(kc, apan, bpan, tmp, nr, 1, 0, pf)
			for i := 0; i < mm; i++ {
				row := c[(ir+i)*ldc+jr:][:nn]
				t := tmp[i*nr : i*nr+nn]
				if beta == 0 {
					for j, v := range t {
						row[j] = alpha * v
					}
				} else {
					for j, v := range t {
						row[j] = alpha*v + beta*row[j]
					}
				}
			}
		}
	}
}

// Pools recycle packing buffers so the steady state allocates nothing; A
// blocks, B blocks and whole packed A differ in size, so they have a pool
// each.
var aPool, bPool, cPool sync.Pool

// aCacheMax is the most floats of A packed once for all B blocks (4 MiB).
var aCacheMax = 1 << 20

// getBuf returns a buffer of n floats from pool, allocating when the pool
// is empty or its buffer too small (which then goes to the collector).
func getBuf(pool *sync.Pool, n int) *[]float32 {
	if p, ok := pool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// minWorkPerThread is the flop count below which another goroutine costs
// more than it saves (a variable so tests can run tiny products threaded).
var minWorkPerThread = 1 << 20

// threadsFor returns how many threads a job of flops floating-point
// operations should use.
func threadsFor(flops int) int {
	return max(1, min(Threads(), flops/minWorkPerThread))
}
