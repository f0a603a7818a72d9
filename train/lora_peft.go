// LoRA adapters in PEFT's on-disk format: adapter_config.json and
// adapter_model.safetensors with PEFT's tensor names, e.g.
// base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight (Llama) or
// base_model.model.transformer.h.0.attn.c_attn.lora_A.weight (GPT-2).

package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/model"
)

// PEFT file names.
const (
	AdapterConfigFile  = "adapter_config.json"
	AdapterWeightsFile = "adapter_model.safetensors"
)

// peftConfig is the subset of PEFT's LoraConfig that alignlab writes and
// reads.
type peftConfig struct {
	PeftType          string   `json:"peft_type"`
	TaskType          string   `json:"task_type"`
	R                 int      `json:"r"`
	LoraAlpha         float64  `json:"lora_alpha"`
	LoraDropout       float64  `json:"lora_dropout"`
	TargetModules     []string `json:"target_modules"`
	Bias              string   `json:"bias"`
	FanInFanOut       bool     `json:"fan_in_fan_out"`
	BaseModelNameOrPa string   `json:"base_model_name_or_path"`
	InferenceMode     bool     `json:"inference_mode"`
	InitLoraWeights   bool     `json:"init_lora_weights"`
	UseRSLoRA         bool     `json:"use_rslora"`
	UseDoRA           bool     `json:"use_dora"`
	ModulesToSave     []string `json:"modules_to_save"`
}

// peftPrefix is the module path of layer i under PEFT's wrapper.
func peftPrefix(cfg model.Config, i int) string {
	if cfg.Family == model.Llama {
		return fmt.Sprintf("base_model.model.model.layers.%d.", i)
	}
	return fmt.Sprintf("base_model.model.transformer.h.%d.", i)
}

// AdapterTensorName is PEFT's name of an adapter's A ("lora_A") or B
// ("lora_B") matrix.
func (l *LoRA) AdapterTensorName(a *Adapter, which string) string {
	return peftPrefix(l.Model.Config, a.Layer) + a.Module + "." + which + ".weight"
}

// SaveAdapter writes the adapters to dir in PEFT's format; base names the
// base model (base_model_name_or_path).
func (l *LoRA) SaveAdapter(dir, base string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save adapter: %w", err)
	}
	var ts []ckpt.Tensor
	seen := map[string]bool{}
	var targets []string
	for _, a := range l.Adapters {
		ts = append(ts,
			ckpt.Tensor{Name: l.AdapterTensorName(a, "lora_A"), Shape: []int{l.Config.R, a.In}, Data: a.A},
			ckpt.Tensor{Name: l.AdapterTensorName(a, "lora_B"), Shape: []int{a.Out, l.Config.R}, Data: a.B})
		leaf := a.Module[strings.LastIndex(a.Module, ".")+1:]
		if !seen[a.Module] {
			seen[a.Module] = true
			// c_proj is two modules in GPT-2; PEFT matches a bare name
			// against both, so write the path when only one is adapted.
			targets = append(targets, leaf)
		}
	}
	targets = peftTargets(l, targets)
	if err := ckpt.Write(filepath.Join(dir, AdapterWeightsFile), ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save adapter: %w", err)
	}
	cfg := peftConfig{
		PeftType: "LORA", TaskType: "CAUSAL_LM", R: l.Config.R, LoraAlpha: l.Config.Alpha,
		TargetModules: targets, Bias: "none", FanInFanOut: l.Model.Config.Family != model.Llama,
		BaseModelNameOrPa: base, InferenceMode: true, InitLoraWeights: true,
	}
	if err := WriteJSON(filepath.Join(dir, AdapterConfigFile), cfg); err != nil {
		return fmt.Errorf("save adapter: %w", err)
	}
	return nil
}

// peftTargets disambiguates GPT-2's c_proj: a bare "c_proj" would adapt
// both the attention and the MLP output in PEFT.
func peftTargets(l *LoRA, leaves []string) []string {
	has := map[string]bool{}
	for _, a := range l.Adapters {
		has[a.Module] = true
	}
	out := make([]string, 0, len(leaves))
	for _, t := range leaves {
		if t == "c_proj" && has["attn.c_proj"] != has["mlp.c_proj"] {
			if has["attn.c_proj"] {
				t = "attn.c_proj"
			} else {
				t = "mlp.c_proj"
			}
		}
		if len(out) == 0 || out[len(out)-1] != t {
			out = append(out, t)
		}
	}
	return out
}

// LoadAdapter reads a PEFT adapter from dir onto m, whose current weights
// are taken as the base W0, and applies it (W = W0 + s·B·A).
func LoadAdapter(dir string, m *model.Model) (*LoRA, error) {
	raw, err := os.ReadFile(filepath.Join(dir, AdapterConfigFile))
	if err != nil {
		return nil, fmt.Errorf("load adapter: %w", err)
	}
	var pc peftConfig
	if err := json.Unmarshal(raw, &pc); err != nil {
		return nil, fmt.Errorf("load adapter: %s: %w", AdapterConfigFile, err)
	}
	if pc.PeftType != "" && pc.PeftType != "LORA" {
		return nil, fmt.Errorf("load adapter: peft_type %s is not LORA", pc.PeftType)
	}
	if pc.UseDoRA || pc.UseRSLoRA {
		return nil, fmt.Errorf("load adapter: DoRA and rsLoRA adapters are not supported")
	}
	targets := make([]string, len(pc.TargetModules))
	for i, t := range pc.TargetModules {
		targets[i] = strings.TrimPrefix(t, "self_attn.")
		targets[i] = strings.TrimPrefix(targets[i], "mlp.")
		if t == "attn.c_proj" || t == "mlp.c_proj" {
			targets[i] = t
		}
	}
	l, err := newLoRA(m, LoRAConfig{R: pc.R, Alpha: pc.LoraAlpha, Targets: targets})
	if err != nil {
		return nil, fmt.Errorf("load adapter: %w", err)
	}
	f, err := ckpt.Open(filepath.Join(dir, AdapterWeightsFile))
	if err != nil {
		return nil, fmt.Errorf("load adapter: %w", err)
	}
	defer f.Close()
	for _, a := range l.Adapters {
		for _, p := range []struct {
			which string
			dst   []float32
		}{{"lora_A", a.A}, {"lora_B", a.B}} {
			name := l.AdapterTensorName(a, p.which)
			if err := f.ReadFloat32(name, p.dst); err != nil {
				return nil, fmt.Errorf("load adapter: %w", err)
			}
		}
	}
	l.Apply()
	return l, nil
}
