package sae

import (
	"container/heap"
	"sort"
	"strings"
)

// Example is one activation of a latent: where it happened, the token, and
// the text around it with the token marked «so».
type Example struct {
	Seq        int     `json:"seq"`
	Pos        int     `json:"pos"`
	Token      string  `json:"token"`
	Activation float32 `json:"activation"`
	Context    string  `json:"context"`
}

// LatentExamples are a latent's highest activations, highest first.
type LatentExamples struct {
	Latent int `json:"latent"`
	// Firing is the fraction of activations on which the latent fired.
	Firing   float64   `json:"firing"`
	Examples []Example `json:"examples"`
}

// TopExamples encodes the n rows of x (refs[i] says where row i came
// from in seqs) and returns, for every latent that fired, its top highest
// activations with window tokens of context on each side; tokenText says
// how a token reads. Latents come in order of index; top <= 0 keeps no
// examples (only the firing rates).
func TopExamples(s *SAE, x []float32, n int, refs []TokenRef, seqs [][]int32, top, window int, tokenText func(int32) string) []LatentExamples {
	d, m := s.DIn, s.DSae
	heaps := make([]minHeap, m)
	fired := make([]int, m)
	f := make([]float32, evalChunk*m)
	pre := make([]float32, evalChunk*m)
	for lo := 0; lo < n; lo += evalChunk {
		c := min(evalChunk, n-lo)
		s.Encode(x[lo*d:(lo+c)*d], c, f, pre)
		for r := 0; r < c; r++ {
			for j, v := range f[r*m : (r+1)*m] {
				if v <= 0 {
					continue
				}
				fired[j]++
				h := &heaps[j]
				if top <= 0 {
					continue
				}
				if h.Len() < top {
					heap.Push(h, hit{v, lo + r})
				} else if v > (*h)[0].v {
					(*h)[0] = hit{v, lo + r}
					heap.Fix(h, 0)
				}
			}
		}
	}
	var out []LatentExamples
	for j := range heaps {
		if fired[j] == 0 {
			continue
		}
		hs := []hit(heaps[j])
		sort.Slice(hs, func(a, b int) bool { return hs[a].v > hs[b].v || (hs[a].v == hs[b].v && hs[a].row < hs[b].row) })
		le := LatentExamples{Latent: j, Firing: float64(fired[j]) / float64(n)}
		for _, h := range hs {
			ref := refs[h.row]
			seq := seqs[ref.Seq]
			le.Examples = append(le.Examples, Example{Seq: ref.Seq, Pos: ref.Pos, Token: tokenText(seq[ref.Pos]),
				Activation: h.v, Context: context(seq, ref.Pos, window, tokenText)})
		}
		out = append(out, le)
	}
	return out
}

// context renders seq[pos-window : pos+window+1] with the token at pos in
// «guillemets».
func context(seq []int32, pos, window int, text func(int32) string) string {
	var b strings.Builder
	for i := max(0, pos-window); i < min(len(seq), pos+window+1); i++ {
		t := text(seq[i])
		if i == pos {
			t = "«" + t + "»"
		}
		b.WriteString(t)
	}
	return b.String()
}

type hit struct {
	v   float32
	row int
}

// minHeap keeps a latent's top activations with the smallest at the root.
type minHeap []hit

func (h minHeap) Len() int { return len(h) }
func (h minHeap) Less(i, j int) bool {
	return h[i].v < h[j].v || (h[i].v == h[j].v && h[i].row > h[j].row)
}
func (h minHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)   { *h = append(*h, x.(hit)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
