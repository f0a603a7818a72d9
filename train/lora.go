// LoRA adapters (Hu et al.) on the engine's weight matrices, without
// changing the engine: a targeted weight is W = W0 + s·B·A (s = alpha/r),
// the engine's backward gives the full dL/dW, and the adapters' gradients
// follow exactly from it,
//
//	dL/dB = s·dW·Aᵀ     dL/dA = s·Bᵀ·dW,
//
// after which each optimizer step on A and B is folded back into W. W0 is
// kept frozen and AdamW holds moments for A and B only, which is where a
// full fine-tune spends its memory. Initialisation and file layout follow
// PEFT (A Kaiming-uniform, B zero; adapter_config.json plus
// adapter_model.safetensors), so an adapter loads into PEFT and back.

package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tensor"
)

// LoRAConfig holds PEFT's LoraConfig options that alignlab supports.
type LoRAConfig struct {
	R     int     `json:"r"`
	Alpha float64 `json:"lora_alpha"`
	// Targets names the matrices to adapt: q, k, v, o, gate, up, down, or
	// the Hugging Face module names (q_proj, ..., down_proj for Llama;
	// c_attn, c_proj, c_fc for GPT-2, where q, k and v share c_attn).
	Targets []string `json:"target_modules"`
}

// Adapter is the LoRA pair of one weight matrix.
type Adapter struct {
	Layer int
	// Module is the PEFT module path within the layer, e.g.
	// "self_attn.q_proj" or "attn.c_attn".
	Module  string
	Out, In int
	W       []float32 // the model's weight (a view into its parameters)
	W0      []float32 // the frozen base weight
	A, B    []float32 // [R, In] and [Out, R], views into LoRA.Params
	dA, dB  []float32 // their gradients, views into LoRA.Grads
	grad    func(g *model.Params) []float32
}

// LoRA is a set of adapters on one model.
type LoRA struct {
	Config LoRAConfig
	Model  *model.Model
	// Scale is alpha/r.
	Scale    float32
	Adapters []*Adapter
	// Params and Grads hold every A, then every B, in one buffer each: the
	// only trainable parameters.
	Params, Grads []float32
}

// loraModule is one adaptable matrix kind in a layer: the rows [lo, hi) of
// a weight.
type loraModule struct {
	short, peft string
	weight      func(l *model.LayerParams) []float32
	lo, hi, in  int
}

// loraModules lists cfg's adaptable matrices.
func loraModules(cfg model.Config) []loraModule {
	hd, nH, nKV, D, H := cfg.HeadDim(), cfg.NumHeads, cfg.NumKVHeads, cfg.Dim, cfg.HiddenDim
	qkv := func(l *model.LayerParams) []float32 { return l.QKVW }
	out := func(l *model.LayerParams) []float32 { return l.AttnOutW }
	fc := func(l *model.LayerParams) []float32 { return l.FCW }
	proj := func(l *model.LayerParams) []float32 { return l.ProjW }
	if cfg.Family == model.Llama {
		return []loraModule{
			{"q", "self_attn.q_proj", qkv, 0, nH * hd, D},
			{"k", "self_attn.k_proj", qkv, nH * hd, (nH + nKV) * hd, D},
			{"v", "self_attn.v_proj", qkv, (nH + nKV) * hd, (nH + 2*nKV) * hd, D},
			{"o", "self_attn.o_proj", out, 0, D, nH * hd},
			{"gate", "mlp.gate_proj", fc, 0, H, D},
			{"up", "mlp.up_proj", fc, H, 2 * H, D},
			{"down", "mlp.down_proj", proj, 0, D, H},
		}
	}
	return []loraModule{
		{"qkv", "attn.c_attn", qkv, 0, cfg.QKVDim(), D},
		{"o", "attn.c_proj", out, 0, D, nH * hd},
		{"up", "mlp.c_fc", fc, 0, H, D},
		{"down", "mlp.c_proj", proj, 0, D, H},
	}
}

// resolveTargets maps target names onto cfg's modules, in layer order.
func resolveTargets(cfg model.Config, targets []string) ([]loraModule, error) {
	mods := loraModules(cfg)
	want := map[string]bool{}
	var qkvParts []string
	for _, raw := range targets {
		t := strings.TrimSpace(raw)
		if t == "" {
			continue
		}
		found := false
		for _, m := range mods {
			leaf := m.peft[strings.LastIndex(m.peft, ".")+1:]
			if t == m.short || t == m.peft || t == leaf {
				want[m.peft], found = true, true
			}
		}
		if !found && cfg.Family != model.Llama {
			switch t {
			case "q", "k", "v", "q_proj", "k_proj", "v_proj":
				qkvParts = append(qkvParts, t[:1])
				continue
			case "o_proj":
				want["attn.c_proj"], found = true, true
			case "up_proj":
				want["mlp.c_fc"], found = true, true
			case "down_proj":
				want["mlp.c_proj"], found = true, true
			}
		}
		if !found {
			names := make([]string, len(mods))
			for i, m := range mods {
				names[i] = m.short + " (" + m.peft + ")"
			}
			return nil, fmt.Errorf("LoRA target %q does not name a matrix of this %s model; use %s", t, cfg.Family, strings.Join(names, ", "))
		}
	}
	if len(qkvParts) > 0 {
		slices.Sort(qkvParts)
		if !slices.Equal(slices.Compact(qkvParts), []string{"k", "q", "v"}) {
			return nil, fmt.Errorf("GPT-2 models keep q, k and v in one matrix (c_attn): target all three, or c_attn")
		}
		want["attn.c_attn"] = true
	}
	var out []loraModule
	for _, m := range mods {
		if want[m.peft] {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("LoRA needs at least one target module")
	}
	return out, nil
}

// NewLoRA attaches fresh adapters to m's targeted matrices in every layer:
// A drawn Kaiming-uniform as PEFT does (bound 1/sqrt(in)), B zero, so the
// model is unchanged until the first step. The model's current weights
// become the frozen W0.
func NewLoRA(m *model.Model, cfg LoRAConfig, seed int64) (*LoRA, error) {
	l, err := newLoRA(m, cfg)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x10ba))
	for _, a := range l.Adapters {
		bound := 1 / math.Sqrt(float64(a.In))
		for i := range a.A {
			a.A[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	return l, nil
}

// newLoRA lays out zero adapters on m.
func newLoRA(m *model.Model, cfg LoRAConfig) (*LoRA, error) {
	if cfg.R < 1 {
		return nil, fmt.Errorf("LoRA rank r must be at least 1, got %d", cfg.R)
	}
	if !(cfg.Alpha > 0) {
		return nil, fmt.Errorf("lora_alpha must be positive, got %g", cfg.Alpha)
	}
	mods, err := resolveTargets(m.Config, cfg.Targets)
	if err != nil {
		return nil, err
	}
	l := &LoRA{Config: cfg, Model: m, Scale: float32(cfg.Alpha / float64(cfg.R))}
	r := cfg.R
	nA, nB := 0, 0
	for range m.Config.NumLayers {
		for _, md := range mods {
			nA += r * md.in
			nB += (md.hi - md.lo) * r
		}
	}
	l.Params, l.Grads = make([]float32, nA+nB), make([]float32, nA+nB)
	offA, offB := 0, nA
	for i := range m.Config.NumLayers {
		for _, md := range mods {
			out := md.hi - md.lo
			w := md.weight(&m.Params.Layers[i])[md.lo*md.in : md.hi*md.in]
			layer, mod := i, md
			a := &Adapter{
				Layer: i, Module: md.peft, Out: out, In: md.in, W: w, W0: slices.Clone(w),
				A: l.Params[offA : offA+r*md.in], B: l.Params[offB : offB+out*r],
				dA: l.Grads[offA : offA+r*md.in], dB: l.Grads[offB : offB+out*r],
				grad: func(g *model.Params) []float32 {
					return mod.weight(&g.Layers[layer])[mod.lo*mod.in : mod.hi*mod.in]
				},
			}
			offA += r * md.in
			offB += out * r
			l.Adapters = append(l.Adapters, a)
		}
	}
	return l, nil
}

// Gradients computes every adapter's gradient from the model's weight
// gradient (m.Grads, filled by the engine's backward).
func (l *LoRA) Gradients() error {
	g := l.Model.Grads
	if g == nil {
		return errors.New("lora: the model has no gradient yet (run a backward pass first)")
	}
	r := l.Config.R
	for _, a := range l.Adapters {
		dW := a.grad(g)
		// dB [Out, R] = s·dW [Out, In] · Aᵀ [In, R]
		tensor.Gemm(false, true, a.Out, r, a.In, l.Scale, dW, a.In, a.A, a.In, 0, a.dB, r)
		// dA [R, In] = s·Bᵀ [R, Out] · dW [Out, In]
		tensor.Gemm(true, false, r, a.In, a.Out, l.Scale, a.B, r, dW, a.In, 0, a.dA, a.In)
	}
	return nil
}

// Apply sets every adapted weight to W0 + s·B·A (the merged weight the
// engine runs with).
func (l *LoRA) Apply() {
	r := l.Config.R
	for _, a := range l.Adapters {
		copy(a.W, a.W0)
		tensor.Gemm(false, false, a.Out, a.In, r, l.Scale, a.B, r, a.A, a.In, 1, a.W, a.In)
	}
}

// Unmerge restores the base weights W0 in the model (the adapters are kept).
func (l *LoRA) Unmerge() {
	for _, a := range l.Adapters {
		copy(a.W, a.W0)
	}
}

// NumTrainable is the number of adapter parameters.
func (l *LoRA) NumTrainable() int { return len(l.Params) }

// loraWeights trains the adapters of a LoRA.
type loraWeights struct {
	l   *LoRA
	opt *AdamW
}

func newLoRAWeights(l *LoRA, args TrainingArgs) *loraWeights {
	return &loraWeights{l: l, opt: args.adamW(len(l.Params), nil)}
}

func (w *loraWeights) update(lr, maxNorm float32) float32 {
	if err := w.l.Gradients(); err != nil {
		return float32(math.NaN())
	}
	norm := GradNorm(w.l.Grads)
	if nonFinite(norm) != "" {
		return norm
	}
	w.opt.StepScaled(w.l.Params, w.l.Grads, lr, clipScale(norm, maxNorm))
	w.l.Apply()
	return norm
}

func (w *loraWeights) saveState(dir string) error {
	if err := SaveBuffers(filepath.Join(dir, "lora.safetensors"), []NamedBuffer{{"params", w.l.Params}}, nil); err != nil {
		return err
	}
	return SaveAdamW(dir, "optimizer", w.opt)
}

func (w *loraWeights) loadState(dir string) error {
	if _, err := LoadBuffers(filepath.Join(dir, "lora.safetensors"), []NamedBuffer{{"params", w.l.Params}}); err != nil {
		return fmt.Errorf("load adapters: %w", err)
	}
	if err := LoadAdamW(dir, "optimizer", w.opt); err != nil {
		return err
	}
	w.l.Apply()
	return nil
}
