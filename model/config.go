package model

import (
	"errors"
	"fmt"
)

// Family names an architecture family; it decides the norm, the position
// encoding and the MLP activation.
type Family string

const (
	// GPT2 is LayerNorm, learned absolute positions and a GELU MLP.
	GPT2 Family = "gpt2"
	// Llama is RMSNorm, rotary positions (RoPE), a SwiGLU MLP and
	// grouped-query attention.
	Llama Family = "llama"
)

// Config describes a decoder-only transformer of either family.
type Config struct {
	Family     Family `json:"family"`
	VocabSize  int    `json:"vocab_size"`
	MaxSeqLen  int    `json:"max_seq_len"`
	NumLayers  int    `json:"num_layers"`
	NumHeads   int    `json:"num_heads"`
	NumKVHeads int    `json:"num_kv_heads"` // equal to NumHeads unless grouped-query attention
	Dim        int    `json:"dim"`          // residual width
	HiddenDim  int    `json:"hidden_dim"`   // MLP width (per branch for SwiGLU)
	// Bias adds biases to every linear layer and to LayerNorm (GPT-2 style).
	Bias bool `json:"bias"`
	// TieEmbeddings reuses the token embedding as the output head.
	TieEmbeddings bool    `json:"tie_embeddings"`
	NormEps       float32 `json:"norm_eps"`
	RopeTheta     float32 `json:"rope_theta"` // Llama only
}

// GPT2Config returns a GPT-2 family config with GPT-2's conventions: biases,
// tied embeddings, a 4×dim MLP and LayerNorm epsilon 1e-5.
func GPT2Config(vocab, maxSeq, layers, heads, dim int) Config {
	return Config{
		Family: GPT2, VocabSize: vocab, MaxSeqLen: maxSeq, NumLayers: layers,
		NumHeads: heads, NumKVHeads: heads, Dim: dim, HiddenDim: 4 * dim,
		Bias: true, TieEmbeddings: true, NormEps: 1e-5,
	}
}

// LlamaConfig returns a Llama family config: no biases, an untied head,
// RMSNorm epsilon 1e-5 and RoPE theta 10000.
func LlamaConfig(vocab, maxSeq, layers, heads, kvHeads, dim, hidden int) Config {
	return Config{
		Family: Llama, VocabSize: vocab, MaxSeqLen: maxSeq, NumLayers: layers,
		NumHeads: heads, NumKVHeads: kvHeads, Dim: dim, HiddenDim: hidden,
		NormEps: 1e-5, RopeTheta: 10000,
	}
}

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.Dim / c.NumHeads }

// QKVDim is the width of the fused query, key and value projection.
func (c Config) QKVDim() int { return (c.NumHeads + 2*c.NumKVHeads) * c.HeadDim() }

// Gated reports whether the MLP is SwiGLU (two input branches).
func (c Config) Gated() bool { return c.Family == Llama }

// Limits that keep every size in range: larger than any published model,
// small enough that no size computed from them wraps an int (a wrapped
// size would allocate nothing and index out of range later).
const (
	maxConfigSize   = 1 << 24 // any one dimension
	maxConfigParams = 1 << 38 // parameters in all (1 TiB of float32)
)

// Validate reports every problem with c in one error, so a user fixes a bad
// config in one pass.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Family != GPT2 && c.Family != Llama {
		bad("family %q is not one of %q, %q", c.Family, GPT2, Llama)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"max_seq_len", c.MaxSeqLen}, {"num_layers", c.NumLayers},
		{"num_heads", c.NumHeads}, {"num_kv_heads", c.NumKVHeads}, {"dim", c.Dim}, {"hidden_dim", c.HiddenDim},
	} {
		if f.v <= 0 {
			bad("%s must be positive, got %d", f.name, f.v)
		}
	}
	if c.NumHeads > 0 && c.Dim > 0 && c.Dim%c.NumHeads != 0 {
		bad("dim %d is not divisible by num_heads %d", c.Dim, c.NumHeads)
	}
	if c.NumHeads > 0 && c.NumKVHeads > 0 && c.NumHeads%c.NumKVHeads != 0 {
		bad("num_heads %d is not divisible by num_kv_heads %d", c.NumHeads, c.NumKVHeads)
	}
	if c.Family == GPT2 && c.NumKVHeads != c.NumHeads {
		bad("gpt2 family needs num_kv_heads == num_heads, got %d and %d", c.NumKVHeads, c.NumHeads)
	}
	if c.Family == Llama && c.NumHeads > 0 && c.Dim > 0 && c.Dim%c.NumHeads == 0 && c.HeadDim()%2 != 0 {
		bad("llama family needs an even head dim for RoPE, got %d", c.HeadDim())
	}
	if !(c.NormEps > 0) {
		bad("norm_eps must be positive, got %g", c.NormEps)
	}
	if c.Family == Llama && !(c.RopeTheta > 0) {
		bad("rope_theta must be positive, got %g", c.RopeTheta)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"max_seq_len", c.MaxSeqLen}, {"num_layers", c.NumLayers},
		{"num_heads", c.NumHeads}, {"dim", c.Dim}, {"hidden_dim", c.HiddenDim},
	} {
		if f.v > maxConfigSize {
			bad("%s %d is over the limit of %d", f.name, f.v, maxConfigSize)
		}
	}
	if len(errs) == 0 {
		// Sizes are counted in float64 so that no int product can wrap.
		var params float64
		forEachTensor(c, func(_ string, shape []int) {
			n := 1.0
			for _, d := range shape {
				n *= float64(d)
			}
			params += n
		})
		if params > maxConfigParams {
			bad("the config needs %.3g parameters, over the limit of %.3g", params, float64(maxConfigParams))
		}
		if rope := float64(c.MaxSeqLen) * float64(c.HeadDim()); rope > maxConfigParams {
			bad("max_seq_len %d × head dim %d is over the limit of %.3g", c.MaxSeqLen, c.HeadDim(), float64(maxConfigParams))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid model config: %w", errors.Join(errs...))
	}
	return nil
}
