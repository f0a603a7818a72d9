package sae

import (
	"fmt"

	"github.com/alignlab/alignlab/model"
)

// TokenRef locates one cached activation: sequence Seq, position Pos.
type TokenRef struct {
	Seq, Pos int
}

// HookWidth is the width of one position's activation at a hook of the
// given shape ([B, T, ...]): the product of the dimensions after T, so
// attn.hook_z's [B, T, heads, head_dim] is one vector per position, as
// SAELens's hook_z SAEs flatten it.
func HookWidth(shape []int) int {
	w := 1
	for _, v := range shape[2:] {
		w *= v
	}
	return w
}

// CacheActivations runs m over each sequence (one at a time, truncated to
// the model's context) and keeps the activation at hook for every
// position. It returns the activations (rows × width), their width and
// where each row came from.
func CacheActivations(m *model.Model, hook string, seqs [][]int32) (x []float32, width int, refs []TokenRef, err error) {
	if hook == "*" || model.IsAttentionMap(hook) {
		return nil, 0, nil, fmt.Errorf("cache activations: hook %q: name one hook point with one vector per position (not the attention scores or pattern)", hook)
	}
	h := model.NewHooks()
	var seq int
	var shapeErr error
	h.Add(hook, func(name string, act []float32, shape []int) {
		if len(shape) < 3 || shape[0] != 1 {
			shapeErr = fmt.Errorf("hook %s has shape %v: want [1, T, ...] per position", name, shape)
			return
		}
		w := HookWidth(shape)
		if width == 0 {
			width = w
		}
		if w != width {
			shapeErr = fmt.Errorf("hook %s width changed from %d to %d", name, width, w)
			return
		}
		x = append(x, act[:shape[1]*w]...)
		for p := 0; p < shape[1]; p++ {
			refs = append(refs, TokenRef{Seq: seq, Pos: p})
		}
	})
	for i, s := range seqs {
		s = truncate(s, m.Config.MaxSeqLen)
		if len(s) == 0 {
			continue
		}
		seq = i
		if _, err := m.Forward(s, 1, len(s), h); err != nil {
			return nil, 0, nil, fmt.Errorf("cache activations: sequence %d: %w", i, err)
		}
		if shapeErr != nil {
			return nil, 0, nil, fmt.Errorf("cache activations: %w", shapeErr)
		}
	}
	if len(refs) == 0 {
		return nil, 0, nil, fmt.Errorf("cache activations: no tokens")
	}
	return x, width, refs, nil
}

func truncate(s []int32, n int) []int32 {
	if n > 0 && len(s) > n {
		return s[:n]
	}
	return s
}
