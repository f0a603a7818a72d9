// Package steer changes what a model computes along a direction, at hook
// points of package model, in Forward and during generation alike
// (GenerateConfig.Hooks, lab.Policy.Hooks): Add adds a scaled direction
// (activation steering, Turner et al. 2023), ProjectOut removes the
// component along one (directional ablation, Arditi et al. 2024's refusal
// direction). A Spec applies an interp.Direction at several layers at once.
package steer

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/model"
)

// Add registers on h a hook at point hook that adds scale·dir to every
// activation row (the last dims of the activation, len(dir) floats, e.g.
// Dim for the residual stream) at the given positions within each sequence
// (model.Hooks.Position; nil means every position). In generation a
// position is counted from the prompt's first token, so positions below
// the prompt length steer only the prompt. dir is copied.
//
// The activation's row width must equal len(dir): check it with Width
// first; a mismatch at run time panics, as a programming error.
func Add(h *model.Hooks, hook string, dir []float32, scale float32, positions []int) error {
	if err := checkHook(hook); err != nil {
		return err
	}
	if len(dir) == 0 {
		return fmt.Errorf("steer %s: empty direction", hook)
	}
	if math.IsNaN(float64(scale)) || math.IsInf(float64(scale), 0) {
		return fmt.Errorf("steer %s: scale %v is not finite", hook, scale)
	}
	delta := make([]float32, len(dir))
	for i, v := range dir {
		delta[i] = scale * v
	}
	pos := slices.Clone(positions)
	h.Add(hook, func(name string, act []float32, shape []int) {
		eachRow(h, name, act, shape, len(delta), pos, func(x []float32) {
			for i, d := range delta {
				x[i] += d
			}
		})
	})
	return nil
}

// ProjectOut registers on h a hook at point hook that removes from every
// activation row its component along dir: x -= (x·u)u with u = dir/|dir|,
// at every position. dir need not be unit length; a zero or non-finite
// dir is an error. As with Add, rows must be len(dir) wide.
func ProjectOut(h *model.Hooks, hook string, dir []float32) error {
	return ProjectOutAt(h, hook, dir, nil)
}

// ProjectOutAt is ProjectOut at the given positions only (nil: all).
func ProjectOutAt(h *model.Hooks, hook string, dir []float32, positions []int) error {
	if err := checkHook(hook); err != nil {
		return err
	}
	u, err := unit(dir)
	if err != nil {
		return fmt.Errorf("project out at %s: %w", hook, err)
	}
	pos := slices.Clone(positions)
	h.Add(hook, func(name string, act []float32, shape []int) {
		eachRow(h, name, act, shape, len(u), pos, func(x []float32) {
			var dot float64 // accumulated in float64: the residue is what tests see
			for i, v := range u {
				dot += float64(x[i]) * float64(v)
			}
			d := float32(dot)
			for i, v := range u {
				x[i] -= d * v
			}
		})
	})
	return nil
}

// AtLayers names point at each of layers: AtLayers([]int{1, 2},
// "hook_resid_post") is blocks.1.hook_resid_post, blocks.2.hook_resid_post.
func AtLayers(layers []int, point string) []string {
	out := make([]string, len(layers))
	for i, l := range layers {
		out[i] = "blocks." + strconv.Itoa(l) + "." + point
	}
	return out
}

// Width is the row width of hook's activation in a model of cfg (the
// length a direction there must have), or an error when hook is no hook
// point of cfg or is an attention map (scores or pattern), whose rows are
// not positions.
func Width(cfg model.Config, hook string) (int, error) {
	if err := checkHook(hook); err != nil {
		return 0, err
	}
	if !slices.Contains(model.HookNames(cfg), hook) {
		return 0, fmt.Errorf("steer: %q is no hook point of this %s model; see model.HookNames", hook, cfg.Family)
	}
	hd := cfg.HeadDim()
	switch {
	case strings.HasSuffix(hook, ".attn.hook_q"), strings.HasSuffix(hook, ".attn.hook_rot_q"), strings.HasSuffix(hook, ".attn.hook_z"):
		return cfg.NumHeads * hd, nil
	case strings.HasSuffix(hook, ".attn.hook_k"), strings.HasSuffix(hook, ".attn.hook_rot_k"), strings.HasSuffix(hook, ".attn.hook_v"):
		return cfg.NumKVHeads * hd, nil
	case strings.HasSuffix(hook, ".mlp.hook_pre"), strings.HasSuffix(hook, ".mlp.hook_pre_linear"), strings.HasSuffix(hook, ".mlp.hook_post"):
		return cfg.HiddenDim, nil
	}
	return cfg.Dim, nil
}

// checkHook rejects the attention scores and pattern, whose rows are
// heads and query positions rather than token positions.
func checkHook(hook string) error {
	if model.IsAttentionMap(hook) || hook == "*" {
		return fmt.Errorf("steer: cannot steer at %q: choose one hook point whose rows are token positions (e.g. blocks.0.hook_resid_post)", hook)
	}
	return nil
}

// unit returns dir/|dir|.
func unit(dir []float32) ([]float32, error) {
	var ss float64
	for _, v := range dir {
		ss += float64(v) * float64(v)
	}
	n := math.Sqrt(ss)
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, errors.New("direction has zero or non-finite norm")
	}
	u := make([]float32, len(dir))
	for i, v := range dir {
		u[i] = float32(float64(v) / n)
	}
	return u, nil
}

// eachRow calls f on each width-float row of act (shape [k, t, ...]) whose
// position is selected (pos nil: all).
func eachRow(h *model.Hooks, name string, act []float32, shape []int, width int, pos []int, f func(x []float32)) {
	k, t := shape[0], shape[1]
	if len(act) != k*t*width {
		panic(fmt.Sprintf("steer: %s rows are %d floats, the direction has %d; check steer.Width first", name, len(act)/(k*t), width))
	}
	for b := 0; b < k; b++ {
		for j := 0; j < t; j++ {
			if pos != nil && !slices.Contains(pos, h.Position(b, j)) {
				continue
			}
			r := b*t + j
			f(act[r*width : (r+1)*width])
		}
	}
}
