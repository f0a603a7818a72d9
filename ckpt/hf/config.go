// Hugging Face config.json: reading it into a model.Config (rejecting what
// the engine cannot compute exactly) and writing one that transformers
// loads.

package hf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/model"
)

// ConfigFile and GenerationConfigFile are the Hugging Face file names.
const (
	ConfigFile           = "config.json"
	GenerationConfigFile = "generation_config.json"
)

// layout is what a checkpoint's tensor names and biases look like, beyond
// what model.Config says: Hugging Face architectures differ in which
// linear layers carry biases (Qwen2: q, k and v only).
type layout struct {
	modelType string // gpt2, llama, qwen2 or mistral
	qkvBias   bool   // q/k/v (or c_attn) biases present
	outBias   bool   // o_proj (or attn.c_proj) bias present
	mlpBias   bool   // MLP biases present
}

// hfConfig is the union of the config.json keys the supported
// architectures use. Pointers tell an absent key from a zero.
type hfConfig struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`
	VocabSize     int      `json:"vocab_size"`

	// GPT-2.
	NEmbd                      int      `json:"n_embd"`
	NLayer                     int      `json:"n_layer"`
	NHead                      int      `json:"n_head"`
	NPositions                 int      `json:"n_positions"`
	NInner                     *int     `json:"n_inner"`
	LayerNormEpsilon           *float64 `json:"layer_norm_epsilon"`
	ActivationFunction         string   `json:"activation_function"`
	ScaleAttnWeights           *bool    `json:"scale_attn_weights"`
	ScaleAttnByInverseLayerIdx bool     `json:"scale_attn_by_inverse_layer_idx"`
	AddCrossAttention          bool     `json:"add_cross_attention"`

	// Llama, Qwen2, Mistral.
	HiddenSize            int             `json:"hidden_size"`
	IntermediateSize      int             `json:"intermediate_size"`
	NumHiddenLayers       int             `json:"num_hidden_layers"`
	NumAttentionHeads     int             `json:"num_attention_heads"`
	NumKeyValueHeads      *int            `json:"num_key_value_heads"`
	HeadDim               *int            `json:"head_dim"`
	HiddenAct             string          `json:"hidden_act"`
	MaxPositionEmbeddings int             `json:"max_position_embeddings"`
	RMSNormEps            *float64        `json:"rms_norm_eps"`
	RopeTheta             *float64        `json:"rope_theta"`
	RopeScaling           json.RawMessage `json:"rope_scaling"`
	RopeParameters        json.RawMessage `json:"rope_parameters"` // transformers 5
	AttentionBias         bool            `json:"attention_bias"`
	MLPBias               bool            `json:"mlp_bias"`
	SlidingWindow         *int            `json:"sliding_window"`
	UseSlidingWindow      bool            `json:"use_sliding_window"`
	LayerTypes            []string        `json:"layer_types"`

	TieWordEmbeddings  *bool           `json:"tie_word_embeddings"`
	QuantizationConfig json.RawMessage `json:"quantization_config"`
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// parseConfig maps a Hugging Face config.json onto model.Config. Every
// feature the engine does not implement is an error that names it, so a
// checkpoint never loads into a model that computes something else.
func parseConfig(raw []byte) (model.Config, layout, error) {
	var hc hfConfig
	if err := json.Unmarshal(raw, &hc); err != nil {
		return model.Config{}, layout{}, fmt.Errorf("not a JSON config: %w", err)
	}
	if !isNull(hc.QuantizationConfig) {
		return model.Config{}, layout{}, errors.New("quantized checkpoints (quantization_config) are not supported; load the float16/bfloat16/float32 weights")
	}
	switch hc.ModelType {
	case "gpt2":
		return gpt2Config(&hc)
	case "llama", "qwen2", "mistral":
		return llamaConfig(&hc)
	case "":
		return model.Config{}, layout{}, errors.New("model_type is missing; is this a Hugging Face config.json?")
	}
	return model.Config{}, layout{}, fmt.Errorf("model_type %q is not supported (gpt2, llama, qwen2 and mistral are)", hc.ModelType)
}

func gpt2Config(hc *hfConfig) (model.Config, layout, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch hc.ActivationFunction {
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "":
	default:
		bad("activation_function %q is not supported (the engine's GELU is the tanh approximation: gelu_new)", hc.ActivationFunction)
	}
	if hc.ScaleAttnByInverseLayerIdx {
		bad("scale_attn_by_inverse_layer_idx is not supported")
	}
	if hc.ScaleAttnWeights != nil && !*hc.ScaleAttnWeights {
		bad("scale_attn_weights false is not supported")
	}
	if hc.AddCrossAttention {
		bad("add_cross_attention is not supported (decoder-only models only)")
	}
	cfg := model.GPT2Config(hc.VocabSize, hc.NPositions, hc.NLayer, hc.NHead, hc.NEmbd)
	if hc.NInner != nil {
		cfg.HiddenDim = *hc.NInner
	}
	if hc.LayerNormEpsilon != nil {
		cfg.NormEps = float32(*hc.LayerNormEpsilon)
	}
	if math.IsInf(float64(cfg.NormEps), 0) {
		bad("layer_norm_epsilon %g is out of float32 range", *hc.LayerNormEpsilon)
	}
	if hc.TieWordEmbeddings != nil {
		cfg.TieEmbeddings = *hc.TieWordEmbeddings
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return cfg, layout{}, errors.Join(errs...)
	}
	return cfg, layout{modelType: "gpt2", qkvBias: true, outBias: true, mlpBias: true}, nil
}

func llamaConfig(hc *hfConfig) (model.Config, layout, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	kv := hc.NumAttentionHeads
	if hc.NumKeyValueHeads != nil {
		kv = *hc.NumKeyValueHeads
	}
	cfg := model.LlamaConfig(hc.VocabSize, hc.MaxPositionEmbeddings, hc.NumHiddenLayers, hc.NumAttentionHeads, kv, hc.HiddenSize, hc.IntermediateSize)
	if hc.HiddenAct != "silu" && hc.HiddenAct != "" {
		bad("hidden_act %q is not supported (the engine's MLP is SwiGLU: silu)", hc.HiddenAct)
	}
	if hc.HeadDim != nil && hc.NumAttentionHeads > 0 && *hc.HeadDim*hc.NumAttentionHeads != hc.HiddenSize {
		bad("head_dim %d differs from hidden_size/num_attention_heads = %d/%d; the engine needs them equal", *hc.HeadDim, hc.HiddenSize, hc.NumAttentionHeads)
	}
	theta, err := ropeTheta(hc)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.RopeTheta = float32(theta)
	if hc.RMSNormEps != nil {
		cfg.NormEps = float32(*hc.RMSNormEps)
	} else {
		cfg.NormEps = 1e-6 // the transformers default
	}
	if hc.TieWordEmbeddings != nil {
		cfg.TieEmbeddings = *hc.TieWordEmbeddings
	}
	if math.IsInf(float64(cfg.NormEps), 0) {
		bad("rms_norm_eps %g is out of float32 range", *hc.RMSNormEps)
	}
	lay := layout{modelType: hc.ModelType, qkvBias: hc.AttentionBias, outBias: hc.AttentionBias, mlpBias: hc.MLPBias}
	switch hc.ModelType {
	case "qwen2":
		// Qwen2 has q/k/v biases and no others, whatever attention_bias says.
		lay = layout{modelType: "qwen2", qkvBias: true}
		if hc.UseSlidingWindow {
			bad("use_sliding_window is not supported")
		}
		if hc.RMSNormEps == nil {
			cfg.NormEps = 1e-6
		}
	case "mistral":
		// Sliding-window attention is plain causal attention up to the
		// window, so the model is exact when limited to it.
		if hc.SlidingWindow != nil && *hc.SlidingWindow > 0 && *hc.SlidingWindow < cfg.MaxSeqLen {
			cfg.MaxSeqLen = *hc.SlidingWindow
		}
	}
	for _, t := range hc.LayerTypes {
		if t != "full_attention" {
			bad("layer_types entry %q is not supported (only full_attention)", t)
			break
		}
	}
	cfg.Bias = lay.qkvBias || lay.outBias || lay.mlpBias
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return cfg, layout{}, errors.Join(errs...)
	}
	return cfg, lay, nil
}

// ropeTheta reads the RoPE base from rope_theta (transformers 4) or
// rope_parameters (transformers 5), rejecting any scaling: the engine
// implements plain RoPE only.
func ropeTheta(hc *hfConfig) (float64, error) {
	theta := 10000.0
	if hc.RopeTheta != nil {
		theta = *hc.RopeTheta
	}
	if !isNull(hc.RopeScaling) {
		var rs map[string]any
		if json.Unmarshal(hc.RopeScaling, &rs) != nil || !plainRope(rs) {
			return 0, fmt.Errorf("rope_scaling %s is not supported (the engine implements plain RoPE)", compact(hc.RopeScaling))
		}
	}
	if !isNull(hc.RopeParameters) {
		var rp map[string]any
		if err := json.Unmarshal(hc.RopeParameters, &rp); err != nil {
			return 0, fmt.Errorf("rope_parameters: %w", err)
		}
		if !plainRope(rp) {
			return 0, fmt.Errorf("rope_parameters %s is not supported (the engine implements plain RoPE)", compact(hc.RopeParameters))
		}
		if t, ok := rp["rope_theta"].(float64); ok {
			theta = t
		}
	}
	if !(theta > 0) || math.IsInf(float64(float32(theta)), 0) {
		return 0, fmt.Errorf("rope_theta %g must be positive and within float32 range", theta)
	}
	return theta, nil
}

// plainRope reports whether a rope_scaling or rope_parameters object asks
// for nothing beyond the default rotation.
func plainRope(m map[string]any) bool {
	for k, v := range m {
		switch k {
		case "rope_type", "type":
			if v != "default" {
				return false
			}
		case "rope_theta":
		default:
			return false
		}
	}
	return true
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// tokenIDs carries the special token ids written into config.json and
// generation_config.json.
type tokenIDs struct {
	bos, eos, pad *int32
}

// configJSON builds the Hugging Face config.json for a model.
func configJSON(cfg model.Config, ids tokenIDs) ([]byte, error) {
	m := map[string]any{
		"vocab_size":          cfg.VocabSize,
		"tie_word_embeddings": cfg.TieEmbeddings,
		"torch_dtype":         "float32",
		"use_cache":           true,
		"initializer_range":   0.02,
	}
	switch cfg.Family {
	case model.GPT2:
		m["architectures"] = []string{"GPT2LMHeadModel"}
		m["model_type"] = "gpt2"
		m["n_embd"], m["n_layer"], m["n_head"] = cfg.Dim, cfg.NumLayers, cfg.NumHeads
		m["n_positions"], m["n_ctx"], m["n_inner"] = cfg.MaxSeqLen, cfg.MaxSeqLen, cfg.HiddenDim
		m["activation_function"] = "gelu_new"
		m["layer_norm_epsilon"] = float32JSON(cfg.NormEps)
		m["resid_pdrop"], m["embd_pdrop"], m["attn_pdrop"] = 0.0, 0.0, 0.0
		m["scale_attn_weights"] = true
		m["scale_attn_by_inverse_layer_idx"] = false
		m["reorder_and_upcast_attn"] = false
	case model.Llama:
		m["architectures"] = []string{"LlamaForCausalLM"}
		m["model_type"] = "llama"
		m["hidden_size"], m["intermediate_size"] = cfg.Dim, cfg.HiddenDim
		m["num_hidden_layers"], m["num_attention_heads"] = cfg.NumLayers, cfg.NumHeads
		m["num_key_value_heads"], m["head_dim"] = cfg.NumKVHeads, cfg.HeadDim()
		m["hidden_act"] = "silu"
		m["max_position_embeddings"] = cfg.MaxSeqLen
		m["rms_norm_eps"] = float32JSON(cfg.NormEps)
		m["rope_theta"] = float32JSON(cfg.RopeTheta)
		m["rope_scaling"] = nil
		m["attention_bias"], m["mlp_bias"] = cfg.Bias, cfg.Bias
		m["attention_dropout"] = 0.0
		m["pretraining_tp"] = 1
	default:
		return nil, fmt.Errorf("family %q has no Hugging Face architecture", cfg.Family)
	}
	ids.put(m)
	return marshalSorted(m)
}

// generationConfigJSON builds generation_config.json: the token ids only,
// so generate() in transformers stops where ours does.
func generationConfigJSON(ids tokenIDs) ([]byte, error) {
	m := map[string]any{"_from_model_config": true}
	ids.put(m)
	return marshalSorted(m)
}

func (ids tokenIDs) put(m map[string]any) {
	for key, id := range map[string]*int32{"bos_token_id": ids.bos, "eos_token_id": ids.eos, "pad_token_id": ids.pad} {
		if id != nil {
			m[key] = *id
		}
	}
}

// marshalSorted writes a map as indented JSON with sorted keys (which
// encoding/json does for maps) and a final newline.
func marshalSorted(m map[string]any) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// float32JSON writes a float32 as its shortest decimal (1e-05, not
// 9.99999974737875e-06), which parses back to the same float32.
func float32JSON(x float32) json.Number {
	return json.Number(strconv.FormatFloat(float64(x), 'g', -1, 32))
}

// String describes the checkpoint layout for error messages.
func (l layout) String() string {
	var biases []string
	for _, b := range []struct {
		on   bool
		name string
	}{{l.qkvBias, "qkv"}, {l.outBias, "attn-out"}, {l.mlpBias, "mlp"}} {
		if b.on {
			biases = append(biases, b.name)
		}
	}
	if len(biases) == 0 {
		return l.modelType
	}
	return l.modelType + " (biases: " + strings.Join(biases, ", ") + ")"
}
