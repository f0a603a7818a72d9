// Token sampling: temperature, top-k, top-p (nucleus), greedy, each with the
// sampled token's log-probability under the model's own distribution.

package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"unsafe"

	"github.com/alignlab/alignlab/tensor"
)

// Sample is one drawn token.
type Sample struct {
	Token int32
	// LogProb is log p(Token) under the unmodified model distribution: the
	// log-softmax of the raw logits, with no temperature, top-k or top-p. It
	// is what PPO and DPO score a sequence by.
	LogProb float32
	// SampleLogProb is log q(Token) under the distribution actually sampled
	// from (after temperature, top-k and top-p, renormalised); 0 for greedy
	// decoding, which is a point mass.
	SampleLogProb float32
}

// Sampler draws tokens from logits with its own random stream (math/rand/v2
// PCG), so each sequence's draws depend only on its seed, never on which
// other sequences share a batch. Its scratch is sized on first use and
// reused; a Sampler is not safe for concurrent use.
type Sampler struct {
	rng *rand.Rand
	*sampleScratch
}

// sampleScratch is what one draw works in: about 3·V·4 bytes plus the
// nucleus histogram. It holds nothing between draws, so Generate lends
// each of its workers one and points whichever Sampler the worker runs at
// it: sixteen sequences then sample in two scratches that stay in the
// cores' caches, not in sixteen that evict one another every step.
type sampleScratch struct {
	probs    []float32
	heap     []int32
	edge     []int32   // nucleus' boundary bucket; topK's candidates past its head
	blocks   []float32 // drawNucleus' block sums
	topProbs []float32
	hist     *nucleusHist
}

// NewSampler returns a sampler whose stream is fixed by seed. Seeds are
// mixed (SplitMix64) before seeding PCG, so neighbouring seeds give
// unrelated streams.
func NewSampler(seed int64) *Sampler {
	a := splitMix64(uint64(seed))
	b := splitMix64(a)
	return &Sampler{rng: rand.New(rand.NewPCG(a, b)), sampleScratch: new(sampleScratch)}
}

func splitMix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Sample draws a token from logits. temperature <= 0 (or topK == 1) is
// greedy: the argmax, lowest index on ties, drawing no random number.
// Otherwise the logits are divided by temperature; topK > 0 keeps the topK
// most likely tokens; 0 < topP < 1 then keeps the smallest set of most likely
// tokens whose probability (renormalised over what top-k kept) reaches topP,
// always at least one, as Hugging Face's warpers do in the same order.
// topK <= 0 or >= len(logits), and topP <= 0 or >= 1, switch those filters
// off. Each non-greedy draw uses exactly one random number.
//
// Cost: two passes over the logits for plain sampling (one exp each) and
// a partial scan for the draw; with top-k, a size-k heap over the first
// few thousand logits and a vector scan that passes it only the rest
// that can displace its weakest (never a full sort); O(V) for top-p
// alone (a two-level histogram of the probabilities' float bits finds the
// nucleus boundary, and only the handful of tokens in the boundary bucket
// are sorted).
func (s *Sampler) Sample(logits []float32, temperature float32, topK int, topP float32) Sample {
	V := len(logits)
	if cap(s.probs) < V {
		s.probs = make([]float32, V)
		s.heap = make([]int32, 0, V)
		s.edge = make([]int32, 0, V)
	}
	probs := s.probs[:V]
	mx := tensor.Max(logits)
	if math.IsInf(float64(mx), 0) || mx != mx {
		return s.sampleDegenerate(logits, mx)
	}
	// One pass gives log Z at temperature 1 and, at that temperature, the
	// unnormalised probabilities themselves.
	sum1 := tensor.ExpShift(probs, logits, mx)
	lse := mx + float32(math.Log(float64(sum1)))
	invT := 1 / temperature
	// A temperature so small that the scaled top logit overflows leaves
	// all the mass on the maximum: greedy, not Inf − Inf.
	if temperature <= 0 || topK == 1 || V == 1 || math.IsInf(float64(mx*invT), 0) {
		a := firstIndexOf(logits, mx)
		return Sample{Token: int32(a), LogProb: logits[a] - lse}
	}
	var kept []int32 // candidates (descending probability for top-k), or nil for all
	var z float64    // the candidates' mass (about 1 for top-k, else unnormalised)
	if topK > 0 && topK < V {
		kept = s.topK(logits, topK)
		kp := s.topProbs[:0]
		for _, i := range kept {
			kp = append(kp, logits[i]*invT)
		}
		tensor.Softmax(kp)
		for j, i := range kept {
			probs[i] = kp[j]
			z += float64(kp[j])
		}
		s.topProbs = kp
	} else if temperature == 1 {
		z = float64(sum1)
	} else {
		for i, l := range logits {
			probs[i] = l * invT
		}
		z = float64(tensor.ExpShift(probs, probs, mx*invT))
	}
	var tok int
	switch {
	case topP > 0 && topP < 1 && kept == nil:
		ns := s.nucleus(probs, z, topP)
		z = ns.z
		tok = s.drawNucleus(probs, ns, s.rng.Float64()*z)
	case topP > 0 && topP < 1:
		kept, z = nucleusPrefix(kept, probs, z, topP)
		tok = drawKept(kept, probs, s.rng.Float64()*z)
	case kept == nil:
		tok = drawAll(probs, s.rng.Float64()*z)
	default:
		tok = drawKept(kept, probs, s.rng.Float64()*z)
	}
	return Sample{
		Token:         int32(tok),
		LogProb:       logits[tok] - lse,
		SampleLogProb: float32(math.Log(float64(probs[tok]) / z)),
	}
}

// sampleDegenerate handles logits whose maximum is +Inf, -Inf or NaN,
// where no distribution is defined: the first maximal token, greedily, with
// log-probability 0 for +Inf and NaN otherwise, as the stable log-sum-exp
// gives.
func (s *Sampler) sampleDegenerate(logits []float32, mx float32) Sample {
	a := firstIndexOf(logits, mx)
	var lp float32 // +Inf: Inf − Inf would be NaN
	if !math.IsInf(float64(mx), 1) {
		lp = logits[a] - mx
	}
	return Sample{Token: int32(a), LogProb: lp}
}

// firstIndexOf returns the lowest index holding v (a NaN v matches the
// first NaN), or 0.
func firstIndexOf(x []float32, v float32) int {
	for i, e := range x {
		if e == v || (v != v && e != e) {
			return i
		}
	}
	return 0
}

// drawAll returns the first token at which the running sum of probs passes
// u, adding eight at a time until the block that holds it; the last token
// with mass if u rounded up to the total.
func drawAll(probs []float32, u float64) int {
	var acc float64
	i := 0
	for ; i+8 <= len(probs); i += 8 {
		p := probs[i : i+8 : i+8]
		b := float64(p[0]+p[1]) + float64(p[2]+p[3]) + float64(p[4]+p[5]) + float64(p[6]+p[7])
		if u < acc+b {
			break
		}
		acc += b
	}
	for ; i < len(probs); i++ {
		acc += float64(probs[i])
		if u < acc {
			return i
		}
	}
	return lastPositive32(probs)
}

// drawKept returns the first candidate at which the running sum of its
// probs passes u, adding four at a time until the block that holds it (a
// nucleus of most of the vocabulary would otherwise be one long chain of
// dependent adds); the last candidate if u rounded up to the total.
func drawKept(kept []int32, probs []float32, u float64) int {
	var acc float64
	i := 0
	for ; i+4 <= len(kept); i += 4 {
		k := kept[i : i+4 : i+4]
		b := (float64(probs[k[0]]) + float64(probs[k[1]])) + (float64(probs[k[2]]) + float64(probs[k[3]]))
		if u < acc+b {
			break
		}
		acc += b
	}
	for ; i < len(kept); i++ {
		acc += float64(probs[kept[i]])
		if u < acc {
			return int(kept[i])
		}
	}
	return int(kept[len(kept)-1])
}

func lastPositive32(p []float32) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] > 0 {
			return i
		}
	}
	return 0
}

// candBefore orders candidates: higher value first, lower index on ties, so the
// choice of candidates never depends on scan order.
func candBefore(v []float32, a, b int32) bool {
	return v[a] > v[b] || (v[a] == v[b] && a < b)
}

// topKHead is the fewest leading logits topK heaps before it filters the
// rest with a vector scan: enough that the weakest of the k kept is a
// threshold few of the others pass.
const topKHead = 1024

// topK returns the indices of the k largest logits (no NaN or +Inf among
// them) in descending order, using a size-k heap whose root is the weakest
// kept candidate. The heap takes the first max(topKHead, 8k) logits; of
// the rest only those at least as large as its root can enter (a later
// index loses a tie), and a vector scan lists them, so over a 32000-token
// vocabulary the heap sees a few thousand logits, not all of them
// (logits in ascending order still send every one through it).
func (s *Sampler) topK(logits []float32, k int) []int32 {
	h := s.heap[:0]
	head := len(logits)
	if n := max(topKHead, 8*k); n < len(logits)/2 {
		head = n
	}
	for i := range int32(head) {
		h = offerTopK(h, k, logits, i)
	}
	if rest := logits[head:]; len(rest) > 0 {
		if cap(s.edge) < len(rest) {
			s.edge = make([]int32, 0, len(logits))
		}
		cand := s.edge[:len(rest)]
		n := tensor.IndicesInRange(cand, rest, logits[h[0]], float32(math.Inf(1)))
		for _, j := range cand[:n] {
			h = offerTopK(h, k, logits, int32(head)+j)
		}
	}
	// Heapsort in place: repeatedly move the weakest to the end, giving
	// descending order.
	for n := len(h) - 1; n > 0; n-- {
		h[0], h[n] = h[n], h[0]
		weakestDown(h[:n], logits)
	}
	s.heap = h
	return h
}

// offerTopK adds candidate i to the heap h of at most k, displacing its
// weakest member if i ranks above it.
func offerTopK(h []int32, k int, logits []float32, i int32) []int32 {
	if len(h) < k {
		h = append(h, i)
		weakestUp(h, logits)
	} else if candBefore(logits, i, h[0]) {
		h[0] = i
		weakestDown(h, logits)
	}
	return h
}

// weakestUp restores the heap order of h (the weakest candidate, by
// candBefore, at the root) after an append.
func weakestUp(h []int32, v []float32) {
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !candBefore(v, h[p], h[i]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// weakestDown restores the heap order of h after its root changed.
func weakestDown(h []int32, v []float32) {
	i, n := 0, len(h)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && candBefore(v, h[c], h[c+1]) {
			c++
		}
		if !candBefore(v, h[i], h[c]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// nucleusBuckets1 and nucleusBuckets2 are the two histogram levels of
// nucleus: the exponent and top three mantissa bits of a probability
// (non-negative floats order as their bits, and the sign bit is 0), then
// the next eight bits.
const (
	nucleusShift1   = 20
	nucleusBuckets1 = 1 << (31 - nucleusShift1)
	nucleusShift2   = 12
	nucleusBuckets2 = 1 << (nucleusShift1 - nucleusShift2)
)

// nucleusHist is nucleus' level-1 histogram, kept in the Sampler rather
// than on the stack, where its 64 KiB would grow every sampling
// goroutine's stack. Four interleaved copies: a nearly flat distribution
// sends run after run of tokens to one bucket, and a single histogram
// would chain every add on the previous store to the same slot. Each copy
// is padded by a cache line so that one bucket of two copies is not a
// multiple of 4 KiB apart, which store-to-load forwarding would take for a
// dependency.
type nucleusHist [4][nucleusBuckets1 + 8]float64

// bitsOf views float32s as their bits (loading the bits directly saves a
// move from a float register per token).
func bitsOf(p []float32) []uint32 {
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(p))), len(p))
}

// nucleusSet is a top-p candidate set, described rather than listed: every
// token whose probability is at least floor is certainly in (upper is
// their mass), and rest are the boundary tokens that make up the remainder.
// The draw takes the first group in index order, then rest in order; the
// order does not change the distribution.
type nucleusSet struct {
	floor float32
	upper float64
	rest  []int32
	z     float64 // the whole set's mass
}

// nucleus returns the smallest set of most likely tokens whose
// unnormalised probability reaches topP·z (ties broken toward the lower
// index, as a stable descending sort would). probs must be non-negative
// and at most 1. A histogram of the probabilities' float bits finds the
// bucket that holds the boundary: the buckets above it are certainly in
// and are never listed; the boundary bucket's members are gathered (a
// vector kernel), split again by the next bits, and only the few in the
// boundary's second-level bucket are sorted.
func (s *Sampler) nucleus(probs []float32, z float64, topP float32) nucleusSet {
	target := float64(topP) * z
	if s.hist == nil {
		s.hist = new(nucleusHist)
	}
	h := s.hist
	clear(h[:])
	xs := bitsOf(probs)
	i := 0
	for ; i+4 <= len(probs); i += 4 {
		p, x := probs[i:i+4:i+4], xs[i:i+4:i+4]
		h[0][x[0]>>nucleusShift1&(nucleusBuckets1-1)] += float64(p[0])
		h[1][x[1]>>nucleusShift1&(nucleusBuckets1-1)] += float64(p[1])
		h[2][x[2]>>nucleusShift1&(nucleusBuckets1-1)] += float64(p[2])
		h[3][x[3]>>nucleusShift1&(nucleusBuckets1-1)] += float64(p[3])
	}
	for ; i < len(probs); i++ {
		h[0][xs[i]>>nucleusShift1&(nucleusBuckets1-1)] += float64(probs[i])
	}
	var cum float64
	b1 := nucleusBuckets1 - 1
	for ; b1 > 0; b1-- {
		m := h[0][b1] + h[1][b1] + h[2][b1] + h[3][b1]
		if cum+m >= target {
			break
		}
		cum += m
	}
	// The boundary bucket's members, split again by the next bits of the
	// mantissa (four interleaved sums, as above).
	if cap(s.edge) < len(probs) {
		s.edge = make([]int32, len(probs))
	}
	base := uint32(b1) << nucleusShift1
	hi1 := float32(math.Inf(1))
	if b1+1 < nucleusBuckets1 {
		hi1 = math.Float32frombits(uint32(b1+1) << nucleusShift1)
	}
	edge := s.edge[:len(probs)]
	edge = edge[:tensor.IndicesInRange(edge, probs, math.Float32frombits(base), hi1)]
	var mass2 [4][nucleusBuckets2]float64
	i = 0
	for ; i+4 <= len(edge); i += 4 {
		e := edge[i : i+4 : i+4]
		mass2[0][xs[e[0]]>>nucleusShift2&(nucleusBuckets2-1)] += float64(probs[e[0]])
		mass2[1][xs[e[1]]>>nucleusShift2&(nucleusBuckets2-1)] += float64(probs[e[1]])
		mass2[2][xs[e[2]]>>nucleusShift2&(nucleusBuckets2-1)] += float64(probs[e[2]])
		mass2[3][xs[e[3]]>>nucleusShift2&(nucleusBuckets2-1)] += float64(probs[e[3]])
	}
	for ; i < len(edge); i++ {
		mass2[0][xs[edge[i]]>>nucleusShift2&(nucleusBuckets2-1)] += float64(probs[edge[i]])
	}
	b2 := nucleusBuckets2 - 1
	for ; b2 > 0; b2-- {
		m := mass2[0][b2] + mass2[1][b2] + mass2[2][b2] + mass2[3][b2]
		if cum+m >= target {
			break
		}
		cum += m
	}
	// Everything above the second-level boundary bucket is in; that
	// bucket's members (a vector gather over the vocabulary again, cheaper
	// than a scalar partition of a crowded first-level bucket) are sorted
	// and taken until the mass is reached.
	lo2 := base | uint32(b2)<<nucleusShift2
	ns := nucleusSet{floor: hi1, upper: cum}
	if b2+1 < nucleusBuckets2 {
		ns.floor = math.Float32frombits(lo2 + 1<<nucleusShift2)
	}
	tie := s.edge[:tensor.IndicesInRange(s.edge[:len(probs)], probs, math.Float32frombits(lo2), ns.floor)]
	slices.SortFunc(tie, func(a, b int32) int {
		if candBefore(probs, a, b) {
			return -1
		}
		if candBefore(probs, b, a) {
			return 1
		}
		return 0
	})
	for n, i := range tie {
		cum += float64(probs[i])
		if cum >= target || n == len(tie)-1 {
			tie = tie[:n+1]
			break
		}
	}
	ns.rest, ns.z = tie, cum
	return ns
}

// drawNucleus returns the first candidate of ns, in draw order, at which
// the running sum of probs passes u; the last candidate if u rounded up to
// the total. Over the tokens at or above the floor the running sum adds
// the vector kernel's float32 block sums until the block that holds u, so
// a u within float32 rounding of a block's end may fall to the next
// candidate: a shift of mass of order 1e-7, never a token outside the set.
func (s *Sampler) drawNucleus(probs []float32, ns nucleusSet, u float64) int {
	if u < ns.upper {
		if cap(s.blocks) < len(probs)/tensor.SumBlock+1 {
			s.blocks = make([]float32, len(probs)/tensor.SumBlock+1)
		}
		sums := tensor.BlockSumsAtLeast(s.blocks[:cap(s.blocks)], probs, ns.floor)
		var acc float64
		b := 0
		for ; b < len(sums); b++ {
			if u < acc+float64(sums[b]) {
				break
			}
			acc += float64(sums[b])
		}
		for i := b * tensor.SumBlock; i < len(probs); i++ {
			if p := probs[i]; p >= ns.floor {
				if acc += float64(p); u < acc {
					return i
				}
			}
		}
	}
	if len(ns.rest) > 0 {
		return drawKept(ns.rest, probs, max(0, u-ns.upper))
	}
	for i := len(probs) - 1; i > 0; i-- { // u rounded up to the total
		if probs[i] >= ns.floor {
			return i
		}
	}
	return 0
}

// nucleusPrefix cuts candidates sorted by descending probability after the
// first one at which their mass reaches topP·z.
func nucleusPrefix(kept []int32, probs []float32, z float64, topP float32) ([]int32, float64) {
	target := float64(topP) * z
	var acc float64
	for n, i := range kept {
		acc += float64(probs[i])
		if acc >= target {
			return kept[:n+1], acc
		}
	}
	return kept, acc
}
