package tensor

import (
	"sync"
	"sync/atomic"
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

	var acache []float32
	if cacheA {
		abuf := getBuf(&cPool, mBlocks*kBlocks*aBlock)
		defer cPool.Put(abuf)
		acache = *abuf
		packAll := func(lo, hi int) {
			for it := lo; it < hi; it++ {
				pi, mi := it/mBlocks, it%mBlocks
				pc, i0 := pi*kcMax, mi*mcb
				kc, mc := min(kcMax, k-pc), min(mcb, m-i0)
				packA(acache[it*aBlock:], a, lda, transA, i0, mc, pc, kc, mr)
			}
		}
		if t > 1 {
			Parallel(mBlocks*kBlocks, packAll)
		} else {
			packAll(0, mBlocks*kBlocks)
		}
	}

	g := &packedGemm{kn: kn, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
		kcMax: kcMax, ncMax: ncMax, mcb: mcb, mBlocks: mBlocks, kBlocks: kBlocks,
		aBlock: aBlock, acache: acache, bbuf: [2][]float32{*bbuf0, *bbuf1}}
	g.run(t)
}

// packedGemm is one packed product, run as a pipeline over the (nc
// columns, kc depth) blocks of B: while the threads multiply block s they
// also pack block s+1 into the other of two buffers. Pack and multiply
// items of a step are handed out alternately from one counter, so one
// thread's memory-bound packing overlaps another's arithmetic, and there is
// one barrier per block (measured 5-8% faster on two threads than packing
// and multiplying in separate phases).
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
	acache          []float32
	bbuf            [2][]float32
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

// nSplit is how many column ranges each row block of a block is cut into,
// so that every thread gets several multiply items.
func (g *packedGemm) nSplit(panels, t int) int {
	if t == 1 {
		return 1
	}
	return max(1, min(panels/4, ceilDiv(3*t, g.mBlocks)))
}

func (g *packedGemm) run(t int) {
	nBlocks := ceilDiv(g.n, g.ncMax) * g.kBlocks
	g.step(-1, t) // pack block 0 alone
	for s := 0; s < nBlocks; s++ {
		g.step(s, t)
	}
}

// step multiplies block s (if s >= 0) and packs block s+1 (if any).
func (g *packedGemm) step(s, t int) {
	nBlocks := ceilDiv(g.n, g.ncMax) * g.kBlocks
	var packs, mults, splits int
	var pjc, pnc, ppc, pkc int
	var mjc, mnc, mpc, mkc, mpanels int
	if s+1 < nBlocks {
		var panels int
		pjc, pnc, ppc, pkc, panels = g.block(s + 1)
		packs = ceilDiv(panels, packGroup)
	}
	if s >= 0 {
		mjc, mnc, mpc, mkc, mpanels = g.block(s)
		splits = g.nSplit(mpanels, t)
		mults = g.mBlocks * splits
	}
	pbuf := g.bbuf[(s+1)&1]
	mbuf := g.bbuf[s&1]
	nr, mr := g.kn.nr, g.kn.mr
	both := min(packs, mults)
	var next atomic.Int64
	work := func(_, _ int) {
		var abuf *[]float32
		for {
			it := int(next.Add(1) - 1)
			if it >= packs+mults {
				break
			}
			// Alternate pack and multiply items while both remain.
			isPack, idx := packs > mults, it-both
			if it < 2*both {
				isPack, idx = it%2 == 0, it/2
			}
			if isPack {
				q0 := idx * packGroup
				q1 := min(q0+packGroup, ceilDiv(pnc, nr))
				packB(pbuf[:pkc*roundUp(pnc, nr)], g.b, g.ldb, g.transB, ppc, pkc, pjc, pnc, nr, q0, q1)
				continue
			}
			if abuf == nil {
				abuf = getBuf(&aPool, g.mcb*g.kcMax+maxTile)
				defer aPool.Put(abuf)
			}
			mi, ni := idx/splits, idx%splits
			i0 := mi * g.mcb
			mc := min(g.mcb, g.m-i0)
			q0, q1 := ni*mpanels/splits, (ni+1)*mpanels/splits
			var ap []float32
			if g.acache != nil {
				off := ((mpc/g.kcMax)*g.mBlocks + mi) * g.aBlock
				ap = g.acache[off : off+roundUp(mc, mr)*mkc]
			} else {
				ap = (*abuf)[:roundUp(mc, mr)*mkc]
				packA(ap, g.a, g.lda, g.transA, i0, mc, mpc, mkc, mr)
			}
			bet := g.beta
			if mpc > 0 {
				bet = 1 // later k blocks accumulate onto the first
			}
			j0 := q0 * nr
			ncols := min(q1*nr, mnc) - j0
			macroKernel(g.kn, mc, ncols, mkc, ap, mbuf[j0*mkc:mkc*mpanels*nr], g.c[i0*g.ldc+mjc+j0:], g.ldc, g.alpha, bet, (*abuf)[g.mcb*g.kcMax:])
		}
	}
	Parallel(min(t, packs+mults), work)
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
