package prefs

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// Drift: a change-point test on a 0/1 stream ordered by time (an
// annotator's agreement with consensus, or a bias indicator over the whole
// data set). The statistic is the maximum absolute CUSUM of the centred
// stream, scaled by sigma*sqrt(n) (under no change it tends to the supremum
// of a Brownian bridge); the change is placed at its argmax, the
// least-squares estimate of a single shift in mean. Significance is by
// permutation: shuffling the stream destroys any time structure while
// keeping its mean.

type changePoint struct {
	k             int // first index after the change
	stat          float64
	before, after float64
	p             float64
	method        string
}

// maxPermutedStream is the longest stream tested by permutation.
const maxPermutedStream = 100_000

// besagCliffordH is the number of permutation exceedances after which the
// Monte Carlo test stops early: p is then clearly not small.
const besagCliffordH = 10

func cusumMax(x []uint8, mean float64) (float64, int) {
	var s, best float64
	bk := 0
	for k := 0; k < len(x)-1; k++ {
		s += float64(x[k]) - mean
		if v := math.Abs(s); v > best {
			best, bk = v, k+1
		}
	}
	return best, bk
}

// bernoulliSplit is the maximum-likelihood position of a single change in
// the success rate of x: the k maximizing the two-segment Bernoulli
// log-likelihood. (The plain CUSUM argmax, used for the test statistic,
// is biased towards the middle of the stream.) Segments keep at least 1%
// of the stream.
func bernoulliSplit(x []uint8, ones int) int {
	n := len(x)
	edge := max(2, n/100)
	// ll(a, m) = a log(a/m) + (m-a) log((m-a)/m) = f(a) + f(m-a) - f(m)
	// with f(x) = x log x, tabulated once: one log per element, not four.
	f := make([]float64, n+1)
	for i := 2; i <= n; i++ {
		f[i] = float64(i) * math.Log(float64(i))
	}
	best, bk := math.Inf(-1), n/2
	left := 0
	for k := 1; k < n; k++ {
		left += int(x[k-1])
		if k < edge || n-k < edge {
			continue
		}
		r := ones - left
		if v := f[left] + f[k-left] - f[k] + f[r] + f[n-k-r] - f[n-k]; v > best {
			best, bk = v, k
		}
	}
	return bk
}

// permutedCusumMax is cusumMax of a uniformly random permutation of a 0/1
// stream with the given number of ones, drawn sequentially (the next
// element is a one with probability ones-left / elements-left), which is
// the same distribution as shuffling without touching memory.
func permutedCusumMax(rng *wyrand, n, ones int, mean float64) float64 {
	// Integer walk: n*S_k = n*(ones so far) - k*ones, so the loop has no
	// floating point; the next element is a one with probability
	// left/(n-k), drawn by Lemire's multiply-shift.
	var walk, hi, lo int64
	left := uint64(ones)
	step1, step0 := int64(n-ones), int64(-ones)
	for k := 0; k < n-1; k++ {
		if h, _ := bits.Mul64(rng.next(), uint64(n-k)); h < left {
			left--
			walk += step1
		} else {
			walk += step0
		}
		hi = max(hi, walk)
		lo = min(lo, walk)
	}
	return float64(max(hi, -lo)) / float64(n)
}

// wyrand is the wyrand generator: one multiply per draw, which matters in
// the permutation loop (millions of draws per test); its statistical
// quality is ample for Monte Carlo p-values.
type wyrand struct{ state uint64 }

func (r *wyrand) next() uint64 {
	r.state += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.state, r.state^0xe7037ed1a0b428db)
	return hi ^ lo
}

// kolmogorovTail is P(sup |Brownian bridge| > t).
func kolmogorovTail(t float64) float64 {
	if t < 0.3 {
		return 1
	}
	var p float64
	for j := 1; j <= 100; j++ {
		term := 2 * math.Exp(-2*float64(j*j)*t*t)
		if j%2 == 0 {
			p -= term
		} else {
			p += term
		}
		if term < 1e-16 {
			break
		}
	}
	return math.Min(1, math.Max(0, p))
}

// detectChange tests x for one change in mean with at most maxPerm
// permutations.
func detectChange(x []uint8, maxPerm int, seed uint64) changePoint {
	n := len(x)
	cp := changePoint{p: 1, method: "none"}
	if n < 4 {
		return cp
	}
	var ones int
	for _, v := range x {
		ones += int(v)
	}
	mean := float64(ones) / float64(n)
	if ones == 0 || ones == n {
		cp.before, cp.after = mean, mean
		return cp
	}
	obs, _ := cusumMax(x, mean)
	k := bernoulliSplit(x, ones)
	cp.k = k
	var ob int
	for _, v := range x[:k] {
		ob += int(v)
	}
	cp.before = float64(ob) / float64(k)
	cp.after = float64(ones-ob) / float64(n-k)
	cp.stat = obs / math.Sqrt(float64(n)*mean*(1-mean))
	// When the asymptotic tail is far below the smallest p-value the
	// permutation budget can show, the permutations would only confirm it;
	// for very long streams the permutation null is the Kolmogorov limit
	// to within O(1/sqrt(n)) (TestPermutationMatchesKolmogorov) and each
	// permutation costs a pass over a million rows.
	if pa := kolmogorovTail(cp.stat); pa < 0.1/float64(maxPerm+1) || n > maxPermutedStream {
		cp.p, cp.method = pa, "kolmogorov"
		return cp
	}
	rng := &wyrand{state: seed ^ 0x5eed}
	exceed, perms := 0, 0
	for perms < maxPerm && exceed < besagCliffordH {
		if permutedCusumMax(rng, n, ones, mean) >= obs-1e-9 {
			exceed++
		}
		perms++
	}
	if exceed >= besagCliffordH {
		cp.p = float64(exceed) / float64(perms)
	} else {
		cp.p = float64(exceed+1) / float64(perms+1)
	}
	cp.method = "permutation"
	return cp
}

// stream is a time-ordered 0/1 sequence with the time of each element.
type stream struct {
	x []uint8
	t []float64
}

// timeOrder returns the indices of rows in time order (file order among
// equal times), sorted once for every stream.
func timeOrder(rows []rowRec) []uint32 {
	// Sorting packed (time, index) keys is cache-friendly; sorting indices
	// that point into rows is not. Already ordered data (the common case:
	// logs in time order) costs one pass.
	type key struct {
		t float64
		i uint32
	}
	keys := make([]key, len(rows))
	sorted := true
	for i := range rows {
		keys[i] = key{rows[i].time, uint32(i)}
		if i > 0 && rows[i].time < rows[i-1].time {
			sorted = false
		}
	}
	if !sorted {
		slices.SortFunc(keys, func(a, b key) int {
			if a.t != b.t {
				return cmp.Compare(a.t, b.t)
			}
			return cmp.Compare(a.i, b.i)
		})
	}
	order := make([]uint32, len(rows))
	for i, k := range keys {
		order[i] = k.i
	}
	return order
}

// buildStream collects val over the rows in order, skipping rows where it
// is negative (undefined) or keep is false.
func buildStream(order []uint32, rows []rowRec, keep func(r uint32) bool, val func(r uint32) int8) stream {
	var s stream
	for _, r := range order {
		if v := val(r); v >= 0 && keep(r) {
			s.x = append(s.x, uint8(v))
			s.t = append(s.t, rows[r].time)
		}
	}
	return s
}

// parallelTasks runs f(0..n-1) on all workers, handing out indices one by
// one (tasks differ wildly in cost).
func parallelTasks(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(workers(), n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
