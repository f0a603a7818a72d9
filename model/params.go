package model

import (
	"errors"
	"fmt"
	"slices"

	"github.com/alignlab/alignlab/tensor"
)

// Tensor is a named view into a parameter (or gradient) buffer.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// LayerParams are one block's weights, as views into the model's single
// parameter allocation. Linear weights are stored [out, in] (PyTorch order).
// Bias fields are nil when Config.Bias is false; norm biases exist only for
// the GPT-2 family.
type LayerParams struct {
	AttnNormW, AttnNormB []float32 // [Dim]
	QKVW                 []float32 // [QKVDim, Dim]: queries, then keys, then values
	QKVB                 []float32 // [QKVDim]
	AttnOutW             []float32 // [Dim, NumHeads*HeadDim]
	AttnOutB             []float32 // [Dim]
	MLPNormW, MLPNormB   []float32 // [Dim]
	FCW                  []float32 // [HiddenDim, Dim], or [2*HiddenDim, Dim] for SwiGLU: gate rows then up rows
	FCB                  []float32 // [HiddenDim] or [2*HiddenDim]
	ProjW                []float32 // [Dim, HiddenDim]
	ProjB                []float32 // [Dim]
}

// Params holds every weight of a model in one contiguous buffer (Data), with
// named views into it. The same layout serves gradients and AdamW moments,
// so optimizers work on the flat buffer.
type Params struct {
	Data       []float32
	TokEmb     []float32 // [VocabSize, Dim]
	PosEmb     []float32 // [MaxSeqLen, Dim], GPT-2 family only
	Layers     []LayerParams
	FinalNormW []float32 // [Dim]
	FinalNormB []float32 // [Dim], GPT-2 family only
	LMHead     []float32 // [VocabSize, Dim]; aliases TokEmb when embeddings are tied
	Tensors    []Tensor  // every view above, in layout order, with HF-style names
}

// NumParams returns the number of float32 parameters a model of cfg holds.
func NumParams(cfg Config) int {
	n := 0
	forEachTensor(cfg, func(_ string, shape []int) { n += prod(shape) })
	return n
}

// NewParams allocates a zeroed parameter buffer laid out for cfg.
func NewParams(cfg Config) (*Params, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Params{Data: make([]float32, NumParams(cfg)), Layers: make([]LayerParams, cfg.NumLayers)}
	// Every forward streams the whole buffer (decoding, for each token):
	// 2 MiB pages spare a page walk every 4 KiB of it.
	tensor.AdviseHugePages(p.Data)
	p.bind(cfg)
	return p, nil
}

// bind points every named view at its slice of p.Data.
func (p *Params) bind(cfg Config) {
	off := 0
	p.Tensors = p.Tensors[:0]
	forEachTensor(cfg, func(name string, shape []int) {
		n := prod(shape)
		view := p.Data[off : off+n : off+n]
		off += n
		p.Tensors = append(p.Tensors, Tensor{Name: name, Shape: shape, Data: view})
		*p.field(cfg, name) = view
	})
	if cfg.TieEmbeddings {
		p.LMHead = p.TokEmb
	}
}

// checkLayout reports the first way p's views differ from cfg's layout:
// Params laid out for another config of the same size (say, NewParams
// of a config with the width and hidden size swapped) would otherwise be
// read as the wrong matrices, or index past their layers.
func (p *Params) checkLayout(cfg Config) error {
	if len(p.Layers) != cfg.NumLayers {
		return fmt.Errorf("params have %d layers, config has %d", len(p.Layers), cfg.NumLayers)
	}
	off, i := 0, 0
	var err error
	forEachTensor(cfg, func(name string, shape []int) {
		n := prod(shape)
		defer func() { off, i = off+n, i+1 }()
		if err != nil {
			return
		}
		if i >= len(p.Tensors) || p.Tensors[i].Name != name || !slices.Equal(p.Tensors[i].Shape, shape) {
			err = fmt.Errorf("params are not laid out for this config: tensor %d should be %s %v", i, name, shape)
			return
		}
		want := p.Data[off : off+n]
		if !sameView(p.Tensors[i].Data, want) || !sameView(*p.field(cfg, name), want) {
			err = fmt.Errorf("params are not laid out for this config: %s is not its slice of the buffer", name)
		}
	})
	if err == nil && len(p.Tensors) != i {
		err = fmt.Errorf("params have %d tensors, config has %d", len(p.Tensors), i)
	}
	if err == nil && cfg.TieEmbeddings && !sameView(p.LMHead, p.TokEmb) {
		err = errors.New("params are not laid out for this config: tied embeddings, but the head is not the token embedding")
	}
	return err
}

// sameView reports whether a and b are the same stretch of memory.
func sameView(a, b []float32) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// field maps a tensor name to the view it fills.
func (p *Params) field(cfg Config, name string) *[]float32 {
	switch name {
	case "wte":
		return &p.TokEmb
	case "wpe":
		return &p.PosEmb
	case "ln_f.weight":
		return &p.FinalNormW
	case "ln_f.bias":
		return &p.FinalNormB
	case "lm_head.weight":
		return &p.LMHead
	}
	var i int
	var rest string
	if _, err := fmt.Sscanf(name, "h.%d.%s", &i, &rest); err != nil {
		panic("model: unknown tensor " + name)
	}
	l := &p.Layers[i]
	switch rest {
	case "ln_1.weight":
		return &l.AttnNormW
	case "ln_1.bias":
		return &l.AttnNormB
	case "attn.qkv.weight":
		return &l.QKVW
	case "attn.qkv.bias":
		return &l.QKVB
	case "attn.out.weight":
		return &l.AttnOutW
	case "attn.out.bias":
		return &l.AttnOutB
	case "ln_2.weight":
		return &l.MLPNormW
	case "ln_2.bias":
		return &l.MLPNormB
	case "mlp.fc.weight":
		return &l.FCW
	case "mlp.fc.bias":
		return &l.FCB
	case "mlp.proj.weight":
		return &l.ProjW
	case "mlp.proj.bias":
		return &l.ProjB
	}
	panic("model: unknown tensor " + name)
}

// forEachTensor visits the name and shape of every parameter tensor of cfg in
// layout order. It is the one place the layout is defined.
func forEachTensor(cfg Config, visit func(name string, shape []int)) {
	C, H := cfg.Dim, cfg.HiddenDim
	fcRows := H
	if cfg.Gated() {
		fcRows = 2 * H
	}
	normBias := cfg.Family == GPT2
	visit("wte", []int{cfg.VocabSize, C})
	if cfg.Family == GPT2 {
		visit("wpe", []int{cfg.MaxSeqLen, C})
	}
	for i := 0; i < cfg.NumLayers; i++ {
		pre := fmt.Sprintf("h.%d.", i)
		visit(pre+"ln_1.weight", []int{C})
		if normBias {
			visit(pre+"ln_1.bias", []int{C})
		}
		visit(pre+"attn.qkv.weight", []int{cfg.QKVDim(), C})
		if cfg.Bias {
			visit(pre+"attn.qkv.bias", []int{cfg.QKVDim()})
		}
		visit(pre+"attn.out.weight", []int{C, cfg.NumHeads * cfg.HeadDim()})
		if cfg.Bias {
			visit(pre+"attn.out.bias", []int{C})
		}
		visit(pre+"ln_2.weight", []int{C})
		if normBias {
			visit(pre+"ln_2.bias", []int{C})
		}
		visit(pre+"mlp.fc.weight", []int{fcRows, C})
		if cfg.Bias {
			visit(pre+"mlp.fc.bias", []int{fcRows})
		}
		visit(pre+"mlp.proj.weight", []int{C, H})
		if cfg.Bias {
			visit(pre+"mlp.proj.bias", []int{C})
		}
	}
	visit("ln_f.weight", []int{C})
	if normBias {
		visit("ln_f.bias", []int{C})
	}
	if !cfg.TieEmbeddings {
		visit("lm_head.weight", []int{cfg.VocabSize, C})
	}
}

func prod(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
