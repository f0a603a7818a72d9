// Hook points: named places in the forward pass where a callback may read
// an activation or overwrite it in place, under TransformerLens's names.

package model

import (
	"fmt"
	"strconv"
	"strings"
)

// HookFunc sees an activation by name. It may read act or overwrite it in
// place (the forward pass continues from the new values). act is a view
// into model memory and shape is valid only during the call; copy either to
// keep it.
type HookFunc func(name string, act []float32, shape []int)

// Hooks is a set of callbacks keyed by hook name. Pass nil to Forward for
// none, which costs nothing. The names are TransformerLens's (listed by
// HookNames); "*" matches every hook point. Callbacks run in the order they
// were added.
//
// Gradients (LossWithHooks then Backward) are exact for hooks that only
// read, and for hooks that add a constant (steering), since backward treats
// a hook as the identity; a hook that replaces an activation by something
// depending on other values (e.g. patching the pattern) gets no gradient
// through the replacement.
type Hooks struct {
	entries []hookEntry
	names   [][numLayerHooks]string // per layer, built on first use
	shape   [4]int
	rows    hookRows // rows' sequences and positions in the KV-cache path (decode.go)
}

type hookEntry struct {
	name string
	fn   HookFunc
}

// NewHooks returns an empty hook set.
func NewHooks() *Hooks { return &Hooks{} }

// Add registers fn for the hook point called name, or for every point when
// name is "*". Forward reports a name that matches no point of the model.
func (h *Hooks) Add(name string, fn HookFunc) {
	h.entries = append(h.entries, hookEntry{name, fn})
}

// hookPoint enumerates the per-layer hook points.
type hookPoint uint8

const (
	hookResidPre hookPoint = iota
	hookLn1
	hookQ
	hookK
	hookV
	hookRotQ
	hookRotK
	hookAttnScores
	hookPattern
	hookZ
	hookAttnOut
	hookResidMid
	hookLn2
	hookPre
	hookPreLinear
	hookPost
	hookMLPOut
	hookResidPost
	numLayerHooks
)

// layerHookSuffix is each per-layer point's name after "blocks.{i}.".
var layerHookSuffix = [numLayerHooks]string{
	"hook_resid_pre", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v",
	"attn.hook_rot_q", "attn.hook_rot_k", "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z", "hook_attn_out",
	"hook_resid_mid", "ln2.hook_normalized", "mlp.hook_pre", "mlp.hook_pre_linear", "mlp.hook_post",
	"hook_mlp_out", "hook_resid_post",
}

// Whole-model hook names.
const (
	hookEmbedName    = "hook_embed"
	hookPosEmbedName = "hook_pos_embed"
	hookLnFinalName  = "ln_final.hook_normalized"
)

// layerHookExists reports whether cfg's family has point p: rotary hooks
// and the SwiGLU up branch exist for Llama only.
func layerHookExists(cfg Config, p hookPoint) bool {
	switch p {
	case hookRotQ, hookRotK, hookPreLinear:
		return cfg.Family == Llama
	}
	return true
}

// HookNames lists every hook point a model of cfg fires, in firing order.
// Shapes: hook_embed, hook_pos_embed (GPT-2 only),
// hook_resid_pre/mid/post, ln1/ln2/ln_final hook_normalized, hook_attn_out
// and hook_mlp_out are [B, T, Dim]; attn.hook_q, hook_rot_q and hook_z are
// [B, T, NumHeads, HeadDim]; attn.hook_k, hook_v and hook_rot_k are
// [B, T, NumKVHeads, HeadDim]; attn.hook_attn_scores and attn.hook_pattern
// are [B, NumHeads, T, T] (rows are query positions); mlp.hook_pre, hook_pre_linear (Llama: the up
// branch, hook_pre being the gate) and hook_post are [B, T, HiddenDim].
// hook_q and hook_k are before RoPE, hook_rot_q and hook_rot_k after, as in
// TransformerLens. hook_attn_scores holds q·k/√HeadDim with the entries
// above the diagonal (future keys) at -Inf, as TransformerLens's after its
// causal mask; the pattern is its row-wise softmax over the causal part, so
// a hook that sets an entry to -Inf knocks that key out of that query's
// attention (entries above the diagonal stay masked whatever a hook writes
// there). The logits are Forward's result, not a hook.
func HookNames(cfg Config) []string {
	names := []string{hookEmbedName}
	if cfg.Family == GPT2 {
		names = append(names, hookPosEmbedName)
	}
	for l := 0; l < cfg.NumLayers; l++ {
		for p := hookPoint(0); p < numLayerHooks; p++ {
			if layerHookExists(cfg, p) {
				names = append(names, "blocks."+strconv.Itoa(l)+"."+layerHookSuffix[p])
			}
		}
	}
	return append(names, hookLnFinalName)
}

// check reports a registered name that names no hook point of cfg, and
// builds the per-layer name table.
func (h *Hooks) check(cfg Config) error {
	for len(h.names) < cfg.NumLayers {
		var row [numLayerHooks]string
		prefix := "blocks." + strconv.Itoa(len(h.names)) + "."
		for p := range row {
			row[p] = prefix + layerHookSuffix[p]
		}
		h.names = append(h.names, row)
	}
	for _, e := range h.entries {
		if !validHookName(cfg, e.name) {
			return fmt.Errorf("model: hook %q names no hook point of this %s model; see model.HookNames", e.name, cfg.Family)
		}
	}
	return nil
}

func validHookName(cfg Config, name string) bool {
	switch name {
	case "*", hookEmbedName, hookLnFinalName:
		return true
	case hookPosEmbedName:
		return cfg.Family == GPT2
	}
	rest, ok := strings.CutPrefix(name, "blocks.")
	if !ok {
		return false
	}
	idx, suffix, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	l, err := strconv.Atoi(idx)
	if err != nil || l < 0 || l >= cfg.NumLayers || strconv.Itoa(l) != idx {
		return false
	}
	for p, s := range layerHookSuffix {
		if s == suffix {
			return layerHookExists(cfg, hookPoint(p))
		}
	}
	return false
}

// IsAttentionMap reports whether name is a hook point shaped
// [B, NumHeads, T, T] (attn.hook_attn_scores or attn.hook_pattern), whose
// rows are (head, query position) pairs rather than token positions; such a
// point is fired by Forward only, never during KV-cache decoding, and has
// no gradient.
func IsAttentionMap(name string) bool {
	return strings.HasSuffix(name, "."+layerHookSuffix[hookAttnScores]) || strings.HasSuffix(name, "."+layerHookSuffix[hookPattern])
}

// wants reports whether any callback listens to name.
func (h *Hooks) wants(name string) bool {
	for _, e := range h.entries {
		if e.name == name || e.name == "*" {
			return true
		}
	}
	return false
}

// fire calls every callback registered for name with act and the shape
// dims (trailing zeros dropped).
func (h *Hooks) fire(name string, act []float32, d0, d1, d2, d3 int) {
	n := 4
	for n > 0 && [4]int{d0, d1, d2, d3}[n-1] == 0 {
		n--
	}
	for _, e := range h.entries {
		if e.name == name || e.name == "*" {
			h.shape = [4]int{d0, d1, d2, d3}
			e.fn(name, act, h.shape[:n:n])
		}
	}
}

// fireLayer fires per-layer point p of layer l.
func (h *Hooks) fireLayer(l int, p hookPoint, act []float32, d0, d1, d2, d3 int) {
	h.fire(h.names[l][p], act, d0, d1, d2, d3)
}
