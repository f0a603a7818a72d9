// Token sampling: temperature, top-k, top-p (nucleus), greedy, each with the
// sampled token's log-probability under the model's own distribution.

package model

import (
	"math"
	"math/rand/v2"

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
	rng      *rand.Rand
	probs    []float32
	heap     []int32
	topProbs []float32
}

// NewSampler returns a sampler whose stream is fixed by seed. Seeds are
// mixed (SplitMix64) before seeding PCG, so neighbouring seeds give
// unrelated streams.
func NewSampler(seed int64) *Sampler {
	a := splitMix64(uint64(seed))
	b := splitMix64(a)
	return &Sampler{rng: rand.New(rand.NewPCG(a, b))}
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
// Cost: O(V) for plain sampling, O(V log k) with top-k (a size-k heap, never
// a full sort), O(V + n log V) for top-p alone, n being the nucleus size.
func (s *Sampler) Sample(logits []float32, temperature float32, topK int, topP float32) Sample {
	V := len(logits)
	lse := tensor.LogSumExp(logits)
	invT := 1 / temperature
	if temperature <= 0 || topK == 1 || V == 1 || math.IsInf(float64(invT), 0) {
		a := argmaxF32(logits)
		return Sample{Token: int32(a), LogProb: logits[a] - lse}
	}
	if cap(s.probs) < V {
		s.probs = make([]float32, V)
		s.heap = make([]int32, 0, V)
	}
	probs := s.probs[:V]
	var kept []int32 // candidates in descending probability, or nil for all
	if topK > 0 && topK < V {
		kept = s.topK(logits, topK)
		kp := s.topProbs[:0]
		for _, i := range kept {
			kp = append(kp, logits[i]*invT)
		}
		tensor.Softmax(kp)
		for j, i := range kept {
			probs[i] = kp[j]
		}
		s.topProbs = kp
	} else {
		if temperature == 1 {
			copy(probs, logits)
		} else {
			for i, l := range logits {
				probs[i] = l * invT
			}
		}
		tensor.Softmax(probs)
	}
	// z is the candidates' mass as the draw below will add it up (about 1).
	var z float64
	if kept == nil {
		for _, p := range probs {
			z += float64(p)
		}
	} else {
		for _, i := range kept {
			z += float64(probs[i])
		}
	}
	if topP > 0 && topP < 1 {
		if kept == nil {
			kept, z = s.nucleus(probs, z, topP)
		} else {
			kept, z = nucleusPrefix(kept, probs, z, topP)
		}
	}
	u := s.rng.Float64() * z
	tok := -1
	var acc float64
	if kept == nil {
		for i, p := range probs {
			acc += float64(p)
			if u < acc {
				tok = i
				break
			}
		}
		if tok < 0 { // u rounded up to z: take the last token with mass
			tok = lastPositive32(probs)
		}
	} else {
		for _, i := range kept {
			acc += float64(probs[i])
			if u < acc {
				tok = int(i)
				break
			}
		}
		if tok < 0 {
			tok = int(kept[len(kept)-1])
		}
	}
	return Sample{
		Token:         int32(tok),
		LogProb:       logits[tok] - lse,
		SampleLogProb: float32(math.Log(float64(probs[tok]) / z)),
	}
}

// argmaxF32 returns the index of the largest element, the lowest on ties.
func argmaxF32(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
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

// topK returns the indices of the k largest logits in descending order,
// using a size-k min-heap (the root is the weakest kept candidate).
func (s *Sampler) topK(logits []float32, k int) []int32 {
	h := s.heap[:0]
	for i := range logits {
		i := int32(i)
		if len(h) < k {
			h = append(h, i)
			candUp(h, len(h)-1, func(a, b int32) bool { return candBefore(logits, b, a) })
			continue
		}
		if candBefore(logits, i, h[0]) {
			h[0] = i
			candDown(h, 0, len(h), func(a, b int32) bool { return candBefore(logits, b, a) })
		}
	}
	// Heapsort in place: repeatedly move the weakest to the end, giving
	// descending order.
	for n := len(h) - 1; n > 0; n-- {
		h[0], h[n] = h[n], h[0]
		candDown(h, 0, n, func(a, b int32) bool { return candBefore(logits, b, a) })
	}
	s.heap = h
	return h
}

// nucleus returns, in descending order, the smallest set of most likely
// tokens whose unnormalised probability reaches topP·z, and its mass. It
// heapifies all V indices (O(V)) and pops only as many as the nucleus holds.
func (s *Sampler) nucleus(probs []float32, z float64, topP float32) ([]int32, float64) {
	h := s.heap[:len(probs)]
	for i := range h {
		h[i] = int32(i)
	}
	less := func(a, b int32) bool { return candBefore(probs, a, b) } // max-heap
	for i := len(h)/2 - 1; i >= 0; i-- {
		candDown(h, i, len(h), less)
	}
	target := float64(topP) * z
	var acc float64
	n := len(h)
	// Popped tokens collect at the end of h, most likely last; reversed
	// below into descending order.
	for n > 0 {
		top := h[0]
		acc += float64(probs[top])
		n--
		h[0], h[n] = h[n], top
		candDown(h, 0, n, less)
		if acc >= target {
			break
		}
	}
	kept := h[n:]
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	s.heap = h[:0]
	return kept, acc
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

// candUp and candDown maintain a binary heap in which first(a, b) means a
// belongs nearer the root than b.
func candUp(h []int32, i int, first func(a, b int32) bool) {
	for i > 0 {
		p := (i - 1) / 2
		if !first(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func candDown(h []int32, i, n int, first func(a, b int32) bool) {
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && first(h[c+1], h[c]) {
			c++
		}
		if !first(h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
