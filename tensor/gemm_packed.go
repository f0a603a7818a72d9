package tensor

import (
	"sync"
	"sync/atomic"
)

// gemmPacked is the BLIS loop nest: for each kc×nc block of op(B) (packed
// once, shared by all threads, in L3) and each mc×kc block of op(A)
// (packed by the thread that uses it, in L2), the macro-kernel sweeps
// nr-wide panels of B (L1) against mr-tall panels of A with the
// micro-kernel. Threads split the packing of B, then take row blocks of C
// (and, when there are few rows, column ranges too) from a shared counter,
// so a thread slowed by other load simply takes fewer blocks.
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
	bbuf := getBuf(&bPool, kcMax*ncMax)
	defer bPool.Put(bbuf)

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

	for jc := 0; jc < n; jc += ncMax {
		nc := min(ncMax, n-jc)
		panels := ceilDiv(nc, nr)
		// Split the columns too, so that every thread gets several items
		// and one slowed down by other load takes fewer.
		nSplit := 1
		if t > 1 {
			nSplit = max(1, min(panels/4, ceilDiv(3*t, mBlocks)))
		}
		items := mBlocks * nSplit
		for pc := 0; pc < k; pc += kcMax {
			kc := min(kcMax, k-pc)
			bp := (*bbuf)[:kc*panels*nr]
			if t > 1 && panels >= 2*t {
				Parallel(panels, func(lo, hi int) {
					packB(bp, b, ldb, transB, pc, kc, jc, nc, nr, lo, hi)
				})
			} else {
				packB(bp, b, ldb, transB, pc, kc, jc, nc, nr, 0, panels)
			}
			bet := beta
			if pc > 0 {
				bet = 1 // later k blocks accumulate onto the first
			}
			var next atomic.Int64
			work := func(_, _ int) {
				// The A block, then room for one edge tile.
				abuf := getBuf(&aPool, mcb*kc+maxTile)
				defer aPool.Put(abuf)
				tmp := (*abuf)[mcb*kc:]
				for {
					it := int(next.Add(1) - 1)
					if it >= items {
						return
					}
					mi, ni := it/nSplit, it%nSplit
					i0 := mi * mcb
					mc := min(mcb, m-i0)
					q0 := ni * panels / nSplit
					q1 := (ni + 1) * panels / nSplit
					var ap []float32
					if acache != nil {
						off := ((pc/kcMax)*mBlocks + mi) * aBlock
						ap = acache[off : off+roundUp(mc, mr)*kc]
					} else {
						ap = (*abuf)[:roundUp(mc, mr)*kc]
						packA(ap, a, lda, transA, i0, mc, pc, kc, mr)
					}
					j0 := q0 * nr
					ncols := min(q1*nr, nc) - j0
					macroKernel(kn, mc, ncols, kc, ap, bp[j0*kc:], c[i0*ldc+jc+j0:], ldc, alpha, bet, tmp)
				}
			}
			if t > 1 && items > 1 {
				Parallel(min(t, items), work)
			} else {
				work(0, 1)
			}
		}
	}
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
