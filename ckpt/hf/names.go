// The one table of how Hugging Face tensors map onto the engine's
// parameters, used by both Load and Save so the two cannot disagree.

package hf

import (
	"fmt"
	"strings"

	"github.com/alignlab/alignlab/model"
)

// binding ties one Hugging Face tensor to the slice of our parameters it
// fills.
type binding struct {
	name  string
	shape []int // as stored in the checkpoint
	dst   []float32
	// transposed: the checkpoint stores the matrix as [in, out] (GPT-2's
	// Conv1D) while we keep [out, in].
	transposed bool
}

// bindings lists the tensors of a checkpoint of layout lay for the model
// whose parameters are p, in the order transformers writes them (embedding,
// blocks, final norm, head). prefix is GPT-2's optional "transformer."
// (checkpoints from the hub's early days omit it).
func bindings(cfg model.Config, lay layout, p *model.Params, prefix string) []binding {
	var bs []binding
	add := func(name string, shape []int, dst []float32, transposed bool) {
		bs = append(bs, binding{name: name, shape: shape, dst: dst, transposed: transposed})
	}
	C, H, V := cfg.Dim, cfg.HiddenDim, cfg.VocabSize
	hd := cfg.HeadDim()
	qRows, kvRows := cfg.NumHeads*hd, cfg.NumKVHeads*hd
	// bias returns the view, or nil (zeros) when our model has no biases.
	bias := func(b []float32, lo, hi int) []float32 {
		if b == nil {
			return nil
		}
		return b[lo:hi]
	}
	switch cfg.Family {
	case model.GPT2:
		add(prefix+"wte.weight", []int{V, C}, p.TokEmb, false)
		add(prefix+"wpe.weight", []int{cfg.MaxSeqLen, C}, p.PosEmb, false)
		for i := range cfg.NumLayers {
			l := &p.Layers[i]
			pre := fmt.Sprintf("%sh.%d.", prefix, i)
			add(pre+"ln_1.weight", []int{C}, l.AttnNormW, false)
			add(pre+"ln_1.bias", []int{C}, l.AttnNormB, false)
			add(pre+"attn.c_attn.weight", []int{C, 3 * C}, l.QKVW, true)
			add(pre+"attn.c_attn.bias", []int{3 * C}, bias(l.QKVB, 0, 3*C), false)
			add(pre+"attn.c_proj.weight", []int{C, C}, l.AttnOutW, true)
			add(pre+"attn.c_proj.bias", []int{C}, bias(l.AttnOutB, 0, C), false)
			add(pre+"ln_2.weight", []int{C}, l.MLPNormW, false)
			add(pre+"ln_2.bias", []int{C}, l.MLPNormB, false)
			add(pre+"mlp.c_fc.weight", []int{C, H}, l.FCW, true)
			add(pre+"mlp.c_fc.bias", []int{H}, bias(l.FCB, 0, H), false)
			add(pre+"mlp.c_proj.weight", []int{H, C}, l.ProjW, true)
			add(pre+"mlp.c_proj.bias", []int{C}, bias(l.ProjB, 0, C), false)
		}
		add(prefix+"ln_f.weight", []int{C}, p.FinalNormW, false)
		add(prefix+"ln_f.bias", []int{C}, p.FinalNormB, false)
	case model.Llama:
		add("model.embed_tokens.weight", []int{V, C}, p.TokEmb, false)
		for i := range cfg.NumLayers {
			l := &p.Layers[i]
			pre := fmt.Sprintf("model.layers.%d.", i)
			qkv := func(lo, hi int) []float32 { return l.QKVW[lo*C : hi*C] }
			add(pre+"input_layernorm.weight", []int{C}, l.AttnNormW, false)
			add(pre+"self_attn.q_proj.weight", []int{qRows, C}, qkv(0, qRows), false)
			add(pre+"self_attn.k_proj.weight", []int{kvRows, C}, qkv(qRows, qRows+kvRows), false)
			add(pre+"self_attn.v_proj.weight", []int{kvRows, C}, qkv(qRows+kvRows, qRows+2*kvRows), false)
			if lay.qkvBias {
				add(pre+"self_attn.q_proj.bias", []int{qRows}, bias(l.QKVB, 0, qRows), false)
				add(pre+"self_attn.k_proj.bias", []int{kvRows}, bias(l.QKVB, qRows, qRows+kvRows), false)
				add(pre+"self_attn.v_proj.bias", []int{kvRows}, bias(l.QKVB, qRows+kvRows, qRows+2*kvRows), false)
			}
			add(pre+"self_attn.o_proj.weight", []int{C, qRows}, l.AttnOutW, false)
			if lay.outBias {
				add(pre+"self_attn.o_proj.bias", []int{C}, bias(l.AttnOutB, 0, C), false)
			}
			add(pre+"post_attention_layernorm.weight", []int{C}, l.MLPNormW, false)
			add(pre+"mlp.gate_proj.weight", []int{H, C}, l.FCW[:H*C], false)
			add(pre+"mlp.up_proj.weight", []int{H, C}, l.FCW[H*C:], false)
			add(pre+"mlp.down_proj.weight", []int{C, H}, l.ProjW, false)
			if lay.mlpBias {
				add(pre+"mlp.gate_proj.bias", []int{H}, bias(l.FCB, 0, H), false)
				add(pre+"mlp.up_proj.bias", []int{H}, bias(l.FCB, H, 2*H), false)
				add(pre+"mlp.down_proj.bias", []int{C}, bias(l.ProjB, 0, C), false)
			}
		}
		add("model.norm.weight", []int{C}, p.FinalNormW, false)
	}
	if !cfg.TieEmbeddings {
		add("lm_head.weight", []int{V, C}, p.LMHead, false)
	}
	return bs
}

// ignorable reports whether a checkpoint tensor is a buffer that carries no
// weights (causal masks, RoPE frequencies), or a tied head stored anyway.
func ignorable(name string, cfg model.Config) bool {
	for _, suffix := range []string{".attn.bias", ".attn.masked_bias", ".rotary_emb.inv_freq"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return cfg.TieEmbeddings && name == "lm_head.weight"
}
