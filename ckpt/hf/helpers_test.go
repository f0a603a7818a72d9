package hf

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/alignlab/alignlab/ckpt/gguf"
	"github.com/alignlab/alignlab/model"
)

// hfTensor is one tensor of a checkpoint written by the tests' own writer,
// which spells out the Hugging Face layout independently of bindings().
type hfTensor struct {
	name  string
	shape []int
	data  []float32
}

// randomModel returns a model whose every weight is random, norms and
// biases included (model.New leaves those at one and zero, which would hide
// a swapped norm or bias).
func randomModel(t *testing.T, cfg model.Config, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(cfg, int64(seed))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, tt := range m.Params.Tensors {
		for i := range tt.Data {
			if len(tt.Shape) == 1 && (slices.Contains([]string{"ln_1.weight", "ln_2.weight", "ln_f.weight"}, lastTwo(tt.Name))) {
				tt.Data[i] = float32(1 + 0.2*rng.NormFloat64())
			} else {
				tt.Data[i] = float32(0.08 * rng.NormFloat64())
			}
		}
	}
	return m
}

func lastTwo(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			for j := i - 1; j >= 0; j-- {
				if name[j] == '.' {
					return name[j+1:]
				}
			}
			return name
		}
	}
	return name
}

func transpose(x []float32, r, c int) []float32 {
	out := make([]float32, len(x))
	for i := range r {
		for j := range c {
			out[j*r+i] = x[i*c+j]
		}
	}
	return out
}

// gpt2Tensors lays a GPT-2 family model out as GPT2LMHeadModel's state
// dict: Conv1D weights are [in, out], plus the causal-mask buffers that old
// checkpoints carry.
func gpt2Tensors(m *model.Model, prefix string) []hfTensor {
	c, p := m.Config, m.Params
	C, H := c.Dim, c.HiddenDim
	ts := []hfTensor{
		{prefix + "wte.weight", []int{c.VocabSize, C}, p.TokEmb},
		{prefix + "wpe.weight", []int{c.MaxSeqLen, C}, p.PosEmb},
	}
	for i, l := range p.Layers {
		h := fmt.Sprintf("%sh.%d.", prefix, i)
		ts = append(ts,
			hfTensor{h + "ln_1.weight", []int{C}, l.AttnNormW},
			hfTensor{h + "ln_1.bias", []int{C}, l.AttnNormB},
			hfTensor{h + "attn.bias", []int{1, 1, c.MaxSeqLen, c.MaxSeqLen}, make([]float32, c.MaxSeqLen*c.MaxSeqLen)},
			hfTensor{h + "attn.c_attn.weight", []int{C, 3 * C}, transpose(l.QKVW, 3*C, C)},
			hfTensor{h + "attn.c_attn.bias", []int{3 * C}, l.QKVB},
			hfTensor{h + "attn.c_proj.weight", []int{C, C}, transpose(l.AttnOutW, C, C)},
			hfTensor{h + "attn.c_proj.bias", []int{C}, l.AttnOutB},
			hfTensor{h + "ln_2.weight", []int{C}, l.MLPNormW},
			hfTensor{h + "ln_2.bias", []int{C}, l.MLPNormB},
			hfTensor{h + "mlp.c_fc.weight", []int{C, H}, transpose(l.FCW, H, C)},
			hfTensor{h + "mlp.c_fc.bias", []int{H}, l.FCB},
			hfTensor{h + "mlp.c_proj.weight", []int{H, C}, transpose(l.ProjW, C, H)},
			hfTensor{h + "mlp.c_proj.bias", []int{C}, l.ProjB},
		)
	}
	ts = append(ts, hfTensor{prefix + "ln_f.weight", []int{C}, p.FinalNormW}, hfTensor{prefix + "ln_f.bias", []int{C}, p.FinalNormB})
	if !c.TieEmbeddings {
		ts = append(ts, hfTensor{"lm_head.weight", []int{c.VocabSize, C}, p.LMHead})
	}
	return ts
}

// llamaTensors lays a Llama family model out as LlamaForCausalLM's (or,
// with qkvOnlyBias, Qwen2ForCausalLM's) state dict.
func llamaTensors(m *model.Model, qkvOnlyBias bool) []hfTensor {
	c, p := m.Config, m.Params
	C, H, hd := c.Dim, c.HiddenDim, c.HeadDim()
	q, kv := c.NumHeads*hd, c.NumKVHeads*hd
	ts := []hfTensor{{"model.embed_tokens.weight", []int{c.VocabSize, C}, p.TokEmb}}
	for i, l := range p.Layers {
		h := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			hfTensor{h + "input_layernorm.weight", []int{C}, l.AttnNormW},
			hfTensor{h + "self_attn.q_proj.weight", []int{q, C}, l.QKVW[:q*C]},
			hfTensor{h + "self_attn.k_proj.weight", []int{kv, C}, l.QKVW[q*C : (q+kv)*C]},
			hfTensor{h + "self_attn.v_proj.weight", []int{kv, C}, l.QKVW[(q+kv)*C:]},
			hfTensor{h + "self_attn.o_proj.weight", []int{C, q}, l.AttnOutW},
			hfTensor{h + "post_attention_layernorm.weight", []int{C}, l.MLPNormW},
			hfTensor{h + "mlp.gate_proj.weight", []int{H, C}, l.FCW[:H*C]},
			hfTensor{h + "mlp.up_proj.weight", []int{H, C}, l.FCW[H*C:]},
			hfTensor{h + "mlp.down_proj.weight", []int{C, H}, l.ProjW},
			hfTensor{h + "self_attn.rotary_emb.inv_freq", []int{hd / 2}, make([]float32, hd/2)},
		)
		if c.Bias {
			ts = append(ts,
				hfTensor{h + "self_attn.q_proj.bias", []int{q}, l.QKVB[:q]},
				hfTensor{h + "self_attn.k_proj.bias", []int{kv}, l.QKVB[q : q+kv]},
				hfTensor{h + "self_attn.v_proj.bias", []int{kv}, l.QKVB[q+kv:]},
			)
			if !qkvOnlyBias {
				ts = append(ts,
					hfTensor{h + "self_attn.o_proj.bias", []int{C}, l.AttnOutB},
					hfTensor{h + "mlp.gate_proj.bias", []int{H}, l.FCB[:H]},
					hfTensor{h + "mlp.up_proj.bias", []int{H}, l.FCB[H:]},
					hfTensor{h + "mlp.down_proj.bias", []int{C}, l.ProjB},
				)
			}
		}
	}
	ts = append(ts, hfTensor{"model.norm.weight", []int{C}, p.FinalNormW})
	if !c.TieEmbeddings {
		ts = append(ts, hfTensor{"lm_head.weight", []int{c.VocabSize, C}, p.LMHead})
	}
	return ts
}

// roundTo rounds x in place to what dtype can hold, so a checkpoint in that
// dtype loads back exactly.
func roundTo(x []float32, dtype string) {
	for i, v := range x {
		switch dtype {
		case "F16":
			x[i] = gguf.F16ToF32(gguf.F32ToF16(v))
		case "BF16":
			x[i] = gguf.BF16ToF32(bf16(v))
		}
	}
}

// bf16 rounds to the nearest bfloat16, ties to even.
func bf16(v float32) uint16 {
	b := math.Float32bits(v)
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// writeSafetensors writes tensors in dtype (F32, F16, BF16 or F64) with the
// test's own encoder, in shuffled order, so loading depends on names only.
func writeSafetensors(t *testing.T, path string, ts []hfTensor, dtype string, seed uint64) {
	t.Helper()
	order := rand.New(rand.NewPCG(seed, 1)).Perm(len(ts))
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, k := range order {
		tt := ts[k]
		begin := len(data)
		for _, v := range tt.data {
			switch dtype {
			case "F32":
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			case "F16":
				data = binary.LittleEndian.AppendUint16(data, gguf.F32ToF16(v))
			case "BF16":
				data = binary.LittleEndian.AppendUint16(data, bf16(v))
			case "F64":
				data = binary.LittleEndian.AppendUint64(data, math.Float64bits(float64(v)))
			}
		}
		header[tt.name] = map[string]any{"dtype": dtype, "shape": tt.shape, "data_offsets": []int{begin, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeSharded splits ts over n shard files with an index.
func writeSharded(t *testing.T, dir string, ts []hfTensor, n int) {
	t.Helper()
	wm := map[string]string{}
	for s := range n {
		var part []hfTensor
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, n)
		for i := s; i < len(ts); i += n {
			part = append(part, ts[i])
			wm[ts[i].name] = name
		}
		writeSafetensors(t, filepath.Join(dir, name), part, "F32", uint64(s))
	}
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": wm})
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// logits runs the model on a fixed batch and returns a copy of the logits.
func logits(t *testing.T, m *model.Model) []float32 {
	t.Helper()
	T := min(m.Config.MaxSeqLen, 9)
	tokens := make([]int32, 2*T)
	for i := range tokens {
		tokens[i] = int32((i*37 + 11) % m.Config.VocabSize)
	}
	out, err := m.Forward(tokens, 2, T, nil)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(out)
}

func sortedNames(ts []hfTensor) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.name)
	}
	sort.Strings(out)
	return out
}
