// --export-trl: the same experiment, written for Hugging Face TRL so that
// it reruns on GPUs. The directory gets the data set as TRL JSONL
// (train.jsonl, eval.jsonl), the starting model as a Hugging Face
// checkpoint (model/), the options as a TRL config (config.yaml, under
// TRL's DPOConfig/CPOConfig/ORPOConfig/SFTConfig names plus ModelConfig's
// PEFT fields) and train_trl.py, which runs it:
//
//	pip install "trl>=0.12" peft pyyaml && python train_trl.py
//
// TRL writes output/ (merged/ too with LoRA), a Hugging Face checkpoint
// that alignlab loads back (ckpt/hf) for audit and inspection.

package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// TRL export file names.
const (
	TRLConfigFile = "config.yaml"
	TRLScriptFile = "train_trl.py"
	TRLTrainFile  = "train.jsonl"
	TRLEvalFile   = "eval.jsonl"
	TRLModelDir   = "model"
)

// trlRow is one preference row in TRL's format.
type trlRow struct {
	Prompt   any `json:"prompt"`
	Chosen   any `json:"chosen"`
	Rejected any `json:"rejected"`
}

// trlPrefRow renders a pair as TRL reads it: the text as read when known,
// else the token ids decoded (a pair built from tokens has no text).
func trlPrefRow(p PrefPair, tok *tokenizer.Tokenizer) (trlRow, error) {
	if t := p.Text; t != nil {
		if t.Conversational() {
			return trlRow{t.PromptMsgs, t.ChosenMsgs, t.RejectedMsgs}, nil
		}
		return trlRow{t.Prompt, t.Chosen, t.Rejected}, nil
	}
	if tok == nil {
		return trlRow{}, fmt.Errorf("pair %s has no text and there is no tokenizer to decode it", p.Source)
	}
	// Completions end with EOS, which TRL appends itself.
	trim := func(c []int32) []int32 { return c[:max(len(c)-1, 0)] }
	return trlRow{tok.Decode(p.Prompt), tok.Decode(trim(p.Chosen)), tok.Decode(trim(p.Rejected))}, nil
}

// ExportTRLDPO writes a DPO-family experiment for TRL into dir: the pairs,
// the model m (with tok) as a Hugging Face checkpoint, the config and the
// script. lora may be nil.
func ExportTRLDPO(dir string, m *model.Model, tok *tokenizer.Tokenizer, train, eval []PrefPair, cfg DPOConfig, lora *LoRAConfig) error {
	rows := func(ps []PrefPair) ([]any, error) {
		out := make([]any, len(ps))
		for i, p := range ps {
			r, err := trlPrefRow(p, tok)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	tr, err := rows(train)
	if err != nil {
		return fmt.Errorf("export trl: %w", err)
	}
	ev, err := rows(eval)
	if err != nil {
		return fmt.Errorf("export trl: %w", err)
	}
	method, keys := trlDPOKeys(cfg)
	return exportTRL(dir, m, tok, method, tr, ev, cfg.TrainingArgs, keys, lora)
}

// ExportTRLSFT writes an SFT experiment for TRL into dir (rows as read).
func ExportTRLSFT(dir string, m *model.Model, tok *tokenizer.Tokenizer, train, eval []SFTExample, cfg SFTConfig, lora *LoRAConfig) error {
	rows := func(es []SFTExample) ([]any, error) {
		out := make([]any, len(es))
		for i, e := range es {
			if e.Row == nil {
				return nil, fmt.Errorf("example %s has no source row to export", e.Source)
			}
			out[i] = e.Row
		}
		return out, nil
	}
	tr, err := rows(train)
	if err != nil {
		return fmt.Errorf("export trl: %w", err)
	}
	ev, err := rows(eval)
	if err != nil {
		return fmt.Errorf("export trl: %w", err)
	}
	keys := map[string]any{"max_length": cfg.MaxLength, "assistant_only_loss": cfg.AssistantOnlyLoss, "packing": false}
	return exportTRL(dir, m, tok, "sft", tr, ev, cfg.TrainingArgs, keys, lora)
}

// trlDPOKeys names the TRL trainer for a loss type and its options.
func trlDPOKeys(c DPOConfig) (string, map[string]any) {
	k := map[string]any{"beta": c.Beta, "max_length": c.MaxLength}
	switch c.LossType {
	case LossSimPO:
		// CPOTrainer: cpo_alpha weights its NLL term as rpo_alpha does ours.
		k["loss_type"], k["simpo_gamma"], k["cpo_alpha"], k["label_smoothing"] = "simpo", c.SimPOGamma, c.RPOAlpha, c.LabelSmoothing
		return "cpo", k
	case LossORPO:
		return "orpo", k
	}
	k["loss_type"], k["label_smoothing"] = c.LossType, c.LabelSmoothing
	if c.RPOAlpha > 0 {
		k["rpo_alpha"] = c.RPOAlpha
	}
	// Reference log-probs once, as alignlab does; no prompt truncation
	// beyond max_length (alignlab skips longer pairs instead).
	k["precompute_ref_log_probs"] = true
	k["max_prompt_length"] = c.MaxLength
	return "dpo", k
}

// exportTRL writes the files common to every method.
func exportTRL(dir string, m *model.Model, tok *tokenizer.Tokenizer, method string, train, eval []any, a TrainingArgs, keys map[string]any, lora *LoRAConfig) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export trl: %w", err)
	}
	if err := writeTRLRows(filepath.Join(dir, TRLTrainFile), train); err != nil {
		return fmt.Errorf("export trl: %w", err)
	}
	if len(eval) > 0 {
		if err := writeTRLRows(filepath.Join(dir, TRLEvalFile), eval); err != nil {
			return fmt.Errorf("export trl: %w", err)
		}
	}
	if err := hf.Save(filepath.Join(dir, TRLModelDir), m, tok); err != nil {
		return fmt.Errorf("export trl: %w", err)
	}
	cfg := map[string]any{
		"trainer":                     method,
		"model_name_or_path":          TRLModelDir,
		"train_file":                  TRLTrainFile,
		"output_dir":                  "output",
		"learning_rate":               a.LearningRate,
		"per_device_train_batch_size": a.PerDeviceTrainBatchSize,
		"per_device_eval_batch_size":  a.evalBatch(),
		"gradient_accumulation_steps": a.GradientAccumulationSteps,
		"num_train_epochs":            a.NumTrainEpochs,
		"lr_scheduler_type":           orDefault(a.LRSchedulerType, "linear"),
		"warmup_ratio":                a.WarmupRatio,
		"weight_decay":                a.WeightDecay,
		"adam_beta1":                  a.AdamBeta1,
		"adam_beta2":                  a.AdamBeta2,
		"adam_epsilon":                a.AdamEpsilon,
		"max_grad_norm":               a.MaxGradNorm,
		"logging_steps":               max(a.LoggingSteps, 1),
		"seed":                        a.Seed,
		"report_to":                   "none",
	}
	if a.MaxSteps > 0 {
		cfg["max_steps"] = a.MaxSteps
	}
	if a.WarmupSteps > 0 {
		cfg["warmup_steps"] = a.WarmupSteps
	}
	if a.SaveSteps > 0 {
		cfg["save_steps"] = a.SaveSteps
	}
	if len(eval) > 0 {
		cfg["eval_file"] = TRLEvalFile
		cfg["eval_strategy"] = "epoch"
		if a.EvalSteps > 0 {
			cfg["eval_strategy"], cfg["eval_steps"] = "steps", a.EvalSteps
		}
	}
	for k, v := range keys {
		cfg[k] = v
	}
	if lora != nil {
		targets, err := peftModuleNames(m.Config, lora.Targets)
		if err != nil {
			return fmt.Errorf("export trl: %w", err)
		}
		cfg["use_peft"], cfg["lora_r"], cfg["lora_alpha"], cfg["lora_dropout"] = true, lora.R, lora.Alpha, 0.0
		cfg["lora_target_modules"] = targets
		cfg["lora_fan_in_fan_out"] = m.Config.Family != model.Llama
	}
	if err := ckpt.WriteAtomic(filepath.Join(dir, TRLConfigFile), func(w io.Writer) error {
		_, err := io.WriteString(w, yamlMap(cfg))
		return err
	}); err != nil {
		return fmt.Errorf("export trl: %w", err)
	}
	return ckpt.WriteAtomic(filepath.Join(dir, TRLScriptFile), func(w io.Writer) error {
		_, err := io.WriteString(w, trlScript)
		return err
	})
}

// peftModuleNames turns alignlab's target names into PEFT module names.
func peftModuleNames(cfg model.Config, targets []string) ([]string, error) {
	mods, err := resolveTargets(cfg, targets)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, m := range mods {
		name := m.peft[strings.LastIndex(m.peft, ".")+1:]
		if name == "c_proj" {
			name = m.peft // attn.c_proj or mlp.c_proj: PEFT matches path suffixes
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// writeTRLRows writes one JSON value per line, atomically.
func writeTRLRows(path string, rows []any) error {
	return ckpt.WriteAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if raw, ok := r.(json.RawMessage); ok {
				// A row as read: compacted onto one line.
				var b bytes.Buffer
				if err := json.Compact(&b, raw); err != nil {
					return err
				}
				b.WriteByte('\n')
				if _, err := w.Write(b.Bytes()); err != nil {
					return err
				}
				continue
			}
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// yamlMap renders a flat map of scalars and string lists as YAML, keys
// sorted; strings are JSON-quoted, which YAML reads as double-quoted.
func yamlMap(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Written by alignlab --export-trl; run: python train_trl.py\n")
	for _, k := range keys {
		b.WriteString(k + ": " + yamlValue(m[k]) + "\n")
	}
	return b.String()
}

func yamlValue(v any) string {
	switch x := v.(type) {
	case string:
		q, _ := json.Marshal(x)
		return string(q)
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = yamlValue(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case float32:
		return yamlFloat(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case float64:
		return yamlFloat(strconv.FormatFloat(x, 'g', -1, 64))
	case bool:
		return strconv.FormatBool(x)
	default:
		return fmt.Sprint(x)
	}
}

// yamlFloat makes a Go float literal one that YAML 1.1 (PyYAML) reads as a
// float: it needs a dot, also before an exponent ("5e-06" would be a
// string, "5.0e-06" is a float).
func yamlFloat(s string) string {
	if strings.ContainsAny(s, ".nN") { // has a dot, or is NaN/Inf
		return s
	}
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		return s[:i] + ".0" + s[i:]
	}
	return s + ".0"
}

// trlScript runs the exported experiment with TRL.
const trlScript = `# Written by alignlab --export-trl: reruns the experiment with Hugging Face TRL.
#   pip install "trl>=0.12" peft pyyaml
#   python train_trl.py            (or: accelerate launch train_trl.py)
# The trained model lands in output/ (output/merged/ with LoRA): a Hugging Face
# checkpoint that 'alignlab' loads back for audit and inspection.
import dataclasses
import os

import yaml
from datasets import load_dataset
from transformers import AutoModelForCausalLM, AutoTokenizer

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "config.yaml")) as f:
    cfg = yaml.safe_load(f)

trainer_name = cfg.pop("trainer")
model_path = os.path.join(here, cfg.pop("model_name_or_path"))
files = {"train": os.path.join(here, cfg.pop("train_file"))}
if "eval_file" in cfg:
    files["test"] = os.path.join(here, cfg.pop("eval_file"))
peft = {k: cfg.pop(k) for k in list(cfg) if k == "use_peft" or k.startswith("lora_")}
cfg["output_dir"] = os.path.join(here, cfg["output_dir"])

data = load_dataset("json", data_files=files)
tokenizer = AutoTokenizer.from_pretrained(model_path)
if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token
model = AutoModelForCausalLM.from_pretrained(model_path)

peft_config = None
if peft.get("use_peft"):
    from peft import LoraConfig

    peft_config = LoraConfig(
        r=peft["lora_r"],
        lora_alpha=peft["lora_alpha"],
        lora_dropout=peft["lora_dropout"],
        target_modules=peft["lora_target_modules"],
        fan_in_fan_out=peft.get("lora_fan_in_fan_out", False),
        task_type="CAUSAL_LM",
    )

if trainer_name == "dpo":
    from trl import DPOConfig as Config, DPOTrainer as Trainer
elif trainer_name == "cpo":
    from trl import CPOConfig as Config, CPOTrainer as Trainer
elif trainer_name == "orpo":
    from trl import ORPOConfig as Config, ORPOTrainer as Trainer
else:
    from trl import SFTConfig as Config, SFTTrainer as Trainer

# Options this TRL version does not have (they move between releases) are
# left out, and said so.
known = {f.name for f in dataclasses.fields(Config)}
dropped = sorted(set(cfg) - known)
if dropped:
    print("note: this TRL version has no option", ", ".join(dropped), "- left out")
args = Config(**{k: v for k, v in cfg.items() if k in known})
trainer = Trainer(
    model=model,
    args=args,
    train_dataset=data["train"],
    eval_dataset=data.get("test"),
    processing_class=tokenizer,
    peft_config=peft_config,
)
trainer.train()
trainer.save_model(args.output_dir)
tokenizer.save_pretrained(args.output_dir)
if peft_config is not None:
    merged = trainer.model.merge_and_unload()
    merged.save_pretrained(os.path.join(args.output_dir, "merged"))
    tokenizer.save_pretrained(os.path.join(args.output_dir, "merged"))
`
