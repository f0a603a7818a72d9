package hf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/model"
)

func gpt2HFConfig(c model.Config) map[string]any {
	return map[string]any{
		"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2",
		"vocab_size": c.VocabSize, "n_positions": c.MaxSeqLen, "n_ctx": c.MaxSeqLen, "n_embd": c.Dim,
		"n_layer": c.NumLayers, "n_head": c.NumHeads, "n_inner": nil, "activation_function": "gelu_new",
		"layer_norm_epsilon": 1e-5, "resid_pdrop": 0.1, "scale_attn_weights": true, "torch_dtype": "float32",
		"bos_token_id": 0, "eos_token_id": 0,
	}
}

func llamaHFConfig(c model.Config, modelType string) map[string]any {
	m := map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "model_type": modelType,
		"vocab_size": c.VocabSize, "hidden_size": c.Dim, "intermediate_size": c.HiddenDim,
		"num_hidden_layers": c.NumLayers, "num_attention_heads": c.NumHeads, "num_key_value_heads": c.NumKVHeads,
		"hidden_act": "silu", "max_position_embeddings": c.MaxSeqLen, "rms_norm_eps": 1e-5,
		"rope_theta": 10000.0, "rope_scaling": nil, "tie_word_embeddings": c.TieEmbeddings,
		"attention_bias": c.Bias && modelType == "llama", "mlp_bias": c.Bias && modelType == "llama",
		"torch_dtype": "bfloat16", "pretraining_tp": 1,
	}
	if modelType == "qwen2" {
		m["use_sliding_window"], m["sliding_window"], m["max_window_layers"] = false, 4096, 2
	}
	return m
}

// checkpointCase is a model of one architecture and how the test writes it.
type checkpointCase struct {
	name     string
	cfg      model.Config
	hfConfig func(model.Config) map[string]any
	tensors  func(*model.Model) []hfTensor
	prepare  func(*model.Model) // zero what the architecture lacks
}

func checkpointCases() []checkpointCase {
	gpt2 := model.GPT2Config(61, 12, 2, 4, 32)
	gpt2Untied := gpt2
	gpt2Untied.TieEmbeddings = false
	llama := model.LlamaConfig(59, 16, 2, 4, 2, 32, 48) // grouped-query: 4 heads, 2 kv heads
	llamaTied := llama
	llamaTied.TieEmbeddings = true
	llamaBias := llama
	llamaBias.Bias = true
	qwen := llama
	qwen.Bias, qwen.TieEmbeddings, qwen.NormEps, qwen.RopeTheta = true, true, 1e-6, 1e6
	untie := func(f func(model.Config) map[string]any) func(model.Config) map[string]any {
		return func(c model.Config) map[string]any {
			m := f(c)
			m["tie_word_embeddings"] = c.TieEmbeddings
			return m
		}
	}
	return []checkpointCase{
		{"gpt2", gpt2, gpt2HFConfig, func(m *model.Model) []hfTensor { return gpt2Tensors(m, "transformer.") }, nil},
		{"gpt2-no-prefix-untied", gpt2Untied, untie(gpt2HFConfig), func(m *model.Model) []hfTensor { return gpt2Tensors(m, "") }, nil},
		{"llama-gqa", llama, func(c model.Config) map[string]any { return llamaHFConfig(c, "llama") }, func(m *model.Model) []hfTensor { return llamaTensors(m, false) }, nil},
		{"llama-tied", llamaTied, func(c model.Config) map[string]any { return llamaHFConfig(c, "llama") }, func(m *model.Model) []hfTensor { return llamaTensors(m, false) }, nil},
		{"llama-bias", llamaBias, func(c model.Config) map[string]any { return llamaHFConfig(c, "llama") }, func(m *model.Model) []hfTensor { return llamaTensors(m, false) }, nil},
		{"qwen2", qwen, func(c model.Config) map[string]any {
			m := llamaHFConfig(c, "qwen2")
			m["rms_norm_eps"], m["rope_theta"] = 1e-6, 1e6
			return m
		}, func(m *model.Model) []hfTensor { return llamaTensors(m, true) }, func(m *model.Model) {
			for _, l := range m.Params.Layers { // Qwen2 has biases on q, k, v only
				clear(l.AttnOutB)
				clear(l.FCB)
				clear(l.ProjB)
			}
		}},
	}
}

// TestLoadHFLayout writes checkpoints in Hugging Face layout with the
// test's own writer, in every dtype and sharded, and checks that Load gives
// back the same config, the same weights and the same logits.
func TestLoadHFLayout(t *testing.T) {
	for ci, tc := range checkpointCases() {
		for _, dtype := range []string{"F32", "F16", "BF16", "sharded"} {
			t.Run(tc.name+"/"+dtype, func(t *testing.T) {
				src := randomModel(t, tc.cfg, uint64(ci+1))
				if tc.prepare != nil {
					tc.prepare(src)
				}
				if dtype == "F16" || dtype == "BF16" {
					roundTo(src.Params.Data, dtype)
				}
				dir := t.TempDir()
				writeJSON(t, filepath.Join(dir, ConfigFile), tc.hfConfig(tc.cfg))
				ts := tc.tensors(src)
				if dtype == "sharded" {
					writeSharded(t, dir, ts, 3)
				} else {
					writeSafetensors(t, filepath.Join(dir, "model.safetensors"), ts, dtype, uint64(ci))
				}
				m, tok, err := Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				if tok != nil {
					t.Fatal("tokenizer returned for a directory without tokenizer.json")
				}
				if m.Config != tc.cfg {
					t.Fatalf("config\n got %+v\nwant %+v", m.Config, tc.cfg)
				}
				if !slices.Equal(m.Params.Data, src.Params.Data) {
					t.Fatal("weights differ from the model the checkpoint came from")
				}
				if got, want := logits(t, m), logits(t, src); !slices.Equal(got, want) {
					t.Fatal("logits differ")
				}
			})
		}
	}
}

// TestLoadErrors checks that every mismatch between config and weights is
// an error naming the tensor and both shapes, or the unsupported feature.
func TestLoadErrors(t *testing.T) {
	cfg := model.LlamaConfig(40, 8, 1, 2, 2, 16, 24)
	src := randomModel(t, cfg, 3)
	base := llamaTensors(src, false)
	for _, tc := range []struct {
		name    string
		edit    func(ts []hfTensor) []hfTensor
		config  func(m map[string]any)
		dtype   string
		want    []string
		noIndex bool
	}{
		{name: "missing tensor", edit: func(ts []hfTensor) []hfTensor {
			return slices.DeleteFunc(ts, func(h hfTensor) bool { return h.name == "model.layers.0.mlp.up_proj.weight" })
		}, want: []string{`no tensor "model.layers.0.mlp.up_proj.weight"`, "[24 16]"}},
		{name: "wrong shape", edit: func(ts []hfTensor) []hfTensor {
			for i := range ts {
				if ts[i].name == "model.layers.0.self_attn.k_proj.weight" {
					ts[i].shape = []int{8, 32}
					ts[i].data = make([]float32, 8*32)
				}
			}
			return ts
		}, want: []string{`"model.layers.0.self_attn.k_proj.weight"`, "shape [8 32]", "implies [16 16]"}},
		{name: "extra tensor", edit: func(ts []hfTensor) []hfTensor {
			return append(ts, hfTensor{"model.layers.0.self_attn.q_norm.weight", []int{8}, make([]float32, 8)})
		}, want: []string{"does not use", "model.layers.0.self_attn.q_norm.weight"}},
		{name: "bad dtype", dtype: "I32", want: []string{"dtype I32"}},
		{name: "rope scaling", config: func(m map[string]any) {
			m["rope_scaling"] = map[string]any{"rope_type": "llama3", "factor": 8.0}
		}, want: []string{"rope_scaling", "llama3", "not supported"}},
		{name: "rope parameters (transformers 5)", config: func(m map[string]any) {
			delete(m, "rope_theta")
			m["rope_parameters"] = map[string]any{"rope_type": "yarn", "rope_theta": 1e4, "factor": 4.0}
		}, want: []string{"rope_parameters", "yarn"}},
		{name: "activation", config: func(m map[string]any) { m["hidden_act"] = "gelu" }, want: []string{`hidden_act "gelu"`}},
		{name: "head dim", config: func(m map[string]any) { m["head_dim"] = 16 }, want: []string{"head_dim 16"}},
		{name: "model type", config: func(m map[string]any) { m["model_type"] = "gemma" }, want: []string{`model_type "gemma"`}},
		{name: "quantized", config: func(m map[string]any) { m["quantization_config"] = map[string]any{"bits": 4} }, want: []string{"quantization_config"}},
		{name: "bad sizes", config: func(m map[string]any) { m["num_key_value_heads"] = 3 }, want: []string{"num_heads 2 is not divisible by num_kv_heads 3"}},
		{name: "no weights", noIndex: true, want: []string{"neither model.safetensors nor model.safetensors.index.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hc := llamaHFConfig(cfg, "llama")
			if tc.config != nil {
				tc.config(hc)
			}
			writeJSON(t, filepath.Join(dir, ConfigFile), hc)
			ts := slices.Clone(base)
			if tc.edit != nil {
				ts = tc.edit(ts)
			}
			if !tc.noIndex {
				path := filepath.Join(dir, "model.safetensors")
				if tc.dtype == "I32" {
					// Same byte width as F32: only the dtype is wrong.
					writeSafetensors(t, path, ts, "F32", 1)
					raw, _ := os.ReadFile(path)
					raw = []byte(strings.Replace(string(raw), `"dtype":"F32","shape":[16]`, `"dtype":"I32","shape":[16]`, 1))
					os.WriteFile(path, raw, 0o644)
				} else {
					writeSafetensors(t, path, ts, "F32", 1)
				}
			}
			_, _, err := Load(dir)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestMistralWindow checks that a sliding window shorter than the context
// limits the model to the window, where it is exact.
func TestMistralWindow(t *testing.T) {
	cfg := model.LlamaConfig(40, 64, 1, 2, 1, 16, 24)
	src := randomModel(t, cfg, 5)
	dir := t.TempDir()
	hc := llamaHFConfig(cfg, "mistral")
	hc["sliding_window"] = 32
	writeJSON(t, filepath.Join(dir, ConfigFile), hc)
	writeSafetensors(t, filepath.Join(dir, "model.safetensors"), llamaTensors(src, false), "F32", 2)
	m, _, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MaxSeqLen != 32 {
		t.Fatalf("max seq len %d, want the window 32", m.Config.MaxSeqLen)
	}
}
