package probe

import (
	"fmt"
	"sort"

	"github.com/alignlab/alignlab/model"
)

// Position says which token positions of a sequence a cached row
// summarises.
type Position string

// Positions.
const (
	// PosLast keeps the last token (for a chat prompt, the generation
	// prompt, where the first reply token is decided).
	PosLast Position = "last"
	// PosMean averages over every token.
	PosMean Position = "mean"
)

// Activations runs m on each token sequence and returns, per hook, a
// [len(seqs), width] matrix of that hook's activation at pos, and the
// widths. Hooks must be per-token points ([B, T, ...] shapes: residual,
// attention and MLP outputs, q/k/v/z, MLP hidden); attn.hook_attn_scores
// and attn.hook_pattern are not. Sequences of equal length run in batches
// of up to 512 tokens.
func Activations(m *model.Model, seqs [][]int32, hooks []string, pos Position) ([][]float32, []int, error) {
	if pos != PosLast && pos != PosMean {
		return nil, nil, fmt.Errorf("position %q (want %s or %s)", pos, PosLast, PosMean)
	}
	for _, h := range hooks {
		if h == "*" {
			return nil, nil, fmt.Errorf("hook *: name each hook to probe")
		}
		if model.IsAttentionMap(h) {
			return nil, nil, fmt.Errorf("hook %s is [batch, head, query, key], not per token; probe a per-token hook", h)
		}
	}
	out := make([][]float32, len(hooks))
	width := make([]int, len(hooks))
	var shapeErr error
	for _, g := range byLength(seqs) {
		T := len(seqs[g[0]])
		B := len(g)
		toks := make([]int32, 0, B*T)
		for _, i := range g {
			toks = append(toks, seqs[i]...)
		}
		hs := model.NewHooks()
		for h, name := range hooks {
			hs.Add(name, func(_ string, act []float32, shape []int) {
				if len(shape) < 3 || shape[0] != B || shape[1] != T {
					shapeErr = fmt.Errorf("hook %s has shape %v, not [batch, position, ...]; probe a per-token hook", name, shape)
					return
				}
				C := len(act) / (B * T)
				if out[h] == nil {
					width[h] = C
					out[h] = make([]float32, len(seqs)*C)
				}
				dst := out[h]
				for b, i := range g {
					row := dst[i*C : (i+1)*C]
					if pos == PosLast {
						copy(row, act[(b*T+T-1)*C:(b*T+T)*C])
						continue
					}
					for t := 0; t < T; t++ {
						src := act[(b*T+t)*C : (b*T+t+1)*C]
						for j, v := range src {
							row[j] += v / float32(T)
						}
					}
				}
			})
		}
		if _, err := m.Forward(toks, B, T, hs); err != nil {
			return nil, nil, fmt.Errorf("cache activations: %w", err)
		}
		if shapeErr != nil {
			return nil, nil, shapeErr
		}
	}
	return out, width, nil
}

// batchTokens bounds the tokens of one forward pass: its logits are
// batchTokens·VocabSize floats (100 MB at GPT-2's vocabulary), where one
// batch of every sequence could take gigabytes.
const batchTokens = 512

// byLength groups sequence indices by length, shortest first, in batches
// of at most batchTokens tokens (one sequence at least).
func byLength(seqs [][]int32) [][]int {
	idx := map[int][]int{}
	for i, s := range seqs {
		idx[len(s)] = append(idx[len(s)], i)
	}
	var lens []int
	for l := range idx {
		lens = append(lens, l)
	}
	sort.Ints(lens)
	var out [][]int
	for _, l := range lens {
		g := idx[l]
		per := max(1, batchTokens/max(l, 1))
		for lo := 0; lo < len(g); lo += per {
			out = append(out, g[lo:min(lo+per, len(g))])
		}
	}
	return out
}
