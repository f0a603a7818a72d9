package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Model is a transformer's weights plus the buffers its passes reuse. A Model
// is not safe for concurrent use; its kernels parallelise internally.
type Model struct {
	Config Config
	Params *Params
	// Grads has the same layout as Params; nil until the first Backward.
	Grads *Params
	acts  *activations // training forward state, sized lazily for (B, T)
}

// New validates cfg and returns a model with GPT-2 style random weights drawn
// from seed: normal(0, 0.02) for matrices, the residual output projections
// scaled by 1/sqrt(2·layers), zero biases and unit norm weights.
func New(cfg Config, seed int64) (*Model, error) {
	p, err := NewParams(cfg)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	residStd := 0.02 / math.Sqrt(2*float64(cfg.NumLayers))
	for _, t := range p.Tensors {
		switch {
		case len(t.Shape) == 1 && isNormWeight(t.Name):
			fill(t.Data, 1)
		case len(t.Shape) == 1:
			fill(t.Data, 0)
		case isResidualProj(t.Name):
			normal(rng, t.Data, residStd)
		default:
			normal(rng, t.Data, 0.02)
		}
	}
	return &Model{Config: cfg, Params: p}, nil
}

// FromParams wraps existing weights, for example a loaded checkpoint.
func FromParams(cfg Config, p *Params) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if want := NumParams(cfg); len(p.Data) != want {
		return nil, fmt.Errorf("params hold %d floats, config needs %d", len(p.Data), want)
	}
	if err := p.checkLayout(cfg); err != nil {
		return nil, err
	}
	return &Model{Config: cfg, Params: p}, nil
}

func isNormWeight(name string) bool {
	return strings.HasSuffix(name, "ln_1.weight") || strings.HasSuffix(name, "ln_2.weight") || name == "ln_f.weight"
}

func isResidualProj(name string) bool {
	return strings.HasSuffix(name, "attn.out.weight") || strings.HasSuffix(name, "mlp.proj.weight")
}

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

func normal(rng *rand.Rand, x []float32, std float64) {
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
}
