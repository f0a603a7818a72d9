// Gradient hooks: the backward pass reports ∂metric/∂activation at the same
// TransformerLens hook names the forward pass fires, so interp can take the
// gradient of any scalar function of the logits with respect to cached
// activations (attribution patching, saliency).

package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/alignlab/alignlab/tensor"
)

// pendingLogits marks a ForwardForGrad that BackwardLogits may
// differentiate; like pendingHidden it lies outside activations.go's kinds.
const pendingLogits pendingKind = 0x81

// GradHooks is a set of callbacks that receive gradients during backward,
// keyed by hook name like Hooks ("*" matches every point). A callback sees
// grad = ∂objective/∂act for the activation of that name, with the forward
// shape; grad is a view valid only during the call (copy it to keep it).
//
// Every hook point has a gradient except attn.hook_attn_scores and
// attn.hook_pattern; GradNames lists them.
type GradHooks struct {
	h Hooks
}

// NewGradHooks returns an empty gradient hook set.
func NewGradHooks() *GradHooks { return &GradHooks{} }

// Add registers fn for the gradient at the hook point called name, or at
// every point with a gradient when name is "*".
func (g *GradHooks) Add(name string, fn HookFunc) { g.h.Add(name, fn) }

// gradPoint reports whether per-layer point p has a gradient callback:
// all but the attention scores and pattern.
func gradPoint(p hookPoint) bool { return p != hookAttnScores && p != hookPattern }

// GradNames lists the hook points whose gradients BackwardLogits reports,
// a subset of HookNames(cfg), in forward order.
func GradNames(cfg Config) []string {
	var out []string
	for _, n := range HookNames(cfg) {
		if IsGradName(cfg, n) {
			out = append(out, n)
		}
	}
	return out
}

// IsGradName reports whether BackwardLogits reports the gradient at name.
func IsGradName(cfg Config, name string) bool {
	switch name {
	case hookEmbedName, hookLnFinalName:
		return true
	case hookPosEmbedName:
		return cfg.Family == GPT2
	}
	if !validHookName(cfg, name) {
		return false
	}
	for p, s := range layerHookSuffix {
		if len(name) > len(s) && name[len(name)-len(s)-1:] == "."+s {
			return gradPoint(hookPoint(p))
		}
	}
	return false
}

// ForwardForGrad is Forward (with hooks, which may be nil) that also keeps
// what BackwardLogits needs. The logits are a view valid until the next
// call on m.
func (m *Model) ForwardForGrad(tokens []int32, B, T int, hooks *Hooks) ([]float32, error) {
	logits, err := m.Forward(tokens, B, T, hooks)
	if err != nil {
		return nil, err
	}
	m.acts.pending = pendingLogits
	return logits, nil
}

// BackwardLogits differentiates Σ dlogits·logits, where logits are what
// the last ForwardForGrad returned ([B·T·VocabSize]; pass ∂metric/∂logits),
// calling grads' callbacks with the gradient at each hook point as the
// backward pass reaches it. Like every backward it also adds the weight
// gradients to m.Grads (allocating them on first use); call ZeroGrad
// before training again. One call per ForwardForGrad.
func (m *Model) BackwardLogits(dlogits []float32, grads *GradHooks) error {
	w := m.acts
	if w == nil || w.pending != pendingLogits {
		return errors.New("model: BackwardLogits needs a ForwardForGrad first (and one backward per call)")
	}
	cfg := m.Config
	BT, C, V := w.B*w.T, cfg.Dim, cfg.VocabSize
	if len(dlogits) != BT*V {
		return fmt.Errorf("model: got %d logit gradients, want B·T·VocabSize = %d", len(dlogits), BT*V)
	}
	for i, g := range dlogits {
		if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
			return fmt.Errorf("model: logit gradient %g at index %d is not finite", g, i)
		}
	}
	if grads != nil {
		if err := grads.h.check(cfg); err != nil {
			return err
		}
		for _, e := range grads.h.entries {
			if e.name != "*" && !IsGradName(cfg, e.name) {
				return fmt.Errorf("model: no gradient is reported at %q; see model.GradNames", e.name)
			}
		}
	}
	m.ensureGrads()
	p, g := m.Params, m.Grads
	// logits = lnf·LMHeadᵀ: dlnf = dlogits·LMHead, dLMHead += dlogitsᵀ·lnf.
	tensor.Gemm(false, false, BT, C, V, 1, dlogits, V, p.LMHead, C, 0, w.dln, C)
	tensor.Gemm(true, false, V, C, BT, 1, dlogits, V, w.lnf, C, 1, g.LMHead, C)
	w.gradHooks = nil
	if grads != nil && len(grads.h.entries) > 0 {
		w.gradHooks = &grads.h
	}
	defer func() { w.gradHooks = nil }()
	w.fireGrad(hookLnFinalName, w.dln)
	clear(w.dres)
	w.kern.norm.backward(cfg.Family == Llama, w.dres, g.FinalNormW, g.FinalNormB, w.dln, w.resid, p.FinalNormW, w.lnfMean, w.lnfRstd, w.normPartials, BT, C)
	m.trunkBackward(w)
	return nil
}

// fireGrad calls the gradient callbacks for a whole-model point, whose
// gradient is [B, T, Dim]. It does nothing outside BackwardLogits.
func (w *activations) fireGrad(name string, grad []float32) {
	if w.gradHooks == nil {
		return
	}
	w.gradHooks.fire(name, grad, w.B, w.T, len(grad)/(w.B*w.T), 0)
}

// fireLayerGrad calls the gradient callbacks for point p of layer l; the
// gradient has the forward activation's shape: [B, T, heads, head dim]
// when heads > 0 (q, k, v, z), else [B, T, width].
func (w *activations) fireLayerGrad(l int, p hookPoint, grad []float32, heads int) {
	h := w.gradHooks
	if h == nil {
		return
	}
	B, T := w.B, w.T
	if heads > 0 {
		h.fireLayer(l, p, grad, B, T, heads, len(grad)/(B*T*heads))
		return
	}
	h.fireLayer(l, p, grad, B, T, len(grad)/(B*T), 0)
}
