package main

// What 'train sft' and 'train dpo' share: the run's recorded config, the
// LoRA and data flags, reading the model, writing the data report, and
// saving the result (the model, and the PEFT adapter with LoRA).

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/internal/outpath"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
	"github.com/alignlab/alignlab/train"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// lmRunConfig is what an SFT or DPO run records in config.json, so that
// --resume rebuilds the same run without the flags.
type lmRunConfig struct {
	Method       string            `json:"method"`
	Model        string            `json:"model"`
	RefModel     string            `json:"ref_model,omitempty"`
	Data         []string          `json:"data"`
	EvalData     []string          `json:"eval_data,omitempty"`
	EvalFraction float64           `json:"eval_fraction"`
	Format       string            `json:"format,omitempty"`
	RefCacheDir  string            `json:"ref_cache_dir,omitempty"`
	ExportTRL    string            `json:"export_trl,omitempty"`
	LoRA         *train.LoRAConfig `json:"lora,omitempty"`
	DPO          *train.DPOConfig  `json:"dpo_config,omitempty"`
	SFT          *train.SFTConfig  `json:"sft_config,omitempty"`
	// Inputs is the SHA-256 of each data file, checked on resume.
	Inputs map[string]string `json:"inputs_sha256,omitempty"`
}

// lmFlags are the flags of lmRunConfig beyond the method's own.
type lmFlags struct {
	loraR       int
	loraAlpha   float64
	loraTargets []string
	exportOnly  bool
}

func (f *lmFlags) add(fl *pflag.FlagSet, cfg *lmRunConfig, a *train.TrainingArgs) {
	fl.StringVar(&cfg.Model, "model", "", "model directory (alignlab checkpoint or Hugging Face: config.json, model.safetensors, tokenizer.json)")
	fl.StringSliceVar(&cfg.Data, "data", nil, "training data, JSONL (repeat or comma-separate for several files)")
	fl.StringSliceVar(&cfg.EvalData, "eval-data", nil, "held-out data (default: --eval-fraction of --data)")
	fl.Float64Var(&cfg.EvalFraction, "eval-fraction", 0.05, "share of --data held out for eval_ metrics when there is no --eval-data")
	fl.StringVar(&cfg.ExportTRL, "export-trl", "", "also write the data set, the model (Hugging Face) and a matching TRL config and script to this directory")
	fl.BoolVar(&f.exportOnly, "export-only", false, "with --export-trl: write the export and stop before training")
	fl.IntVar(&f.loraR, "lora-r", 0, "train LoRA adapters of this rank instead of all weights (0: full fine-tuning)")
	fl.Float64Var(&f.loraAlpha, "lora-alpha", 16, "LoRA alpha (the update is scaled by alpha/r)")
	fl.StringSliceVar(&f.loraTargets, "lora-targets", []string{"q", "k", "v", "o"}, "matrices to adapt: q,k,v,o,gate,up,down or Hugging Face module names (q_proj, c_attn, ...)")
	fl.IntVar(&a.PerDeviceEvalBatchSize, "per-device-eval-batch-size", a.PerDeviceEvalBatchSize, "sequences (pairs) per evaluation or reference pass")
	fl.IntVar(&a.WarmupSteps, "warmup-steps", a.WarmupSteps, "warmup steps (overrides --warmup-ratio)")
	fl.Float32Var(&a.AdamBeta1, "adam-beta1", a.AdamBeta1, "AdamW beta1")
	fl.Float32Var(&a.AdamBeta2, "adam-beta2", a.AdamBeta2, "AdamW beta2")
	fl.Float32Var(&a.AdamEpsilon, "adam-epsilon", a.AdamEpsilon, "AdamW epsilon")
}

// lora returns the LoRA config the flags ask for (nil: full fine-tuning).
func (f *lmFlags) lora() *train.LoRAConfig {
	if f.loraR <= 0 {
		return nil
	}
	return &train.LoRAConfig{R: f.loraR, Alpha: f.loraAlpha, Targets: f.loraTargets}
}

// openLMRun creates the run directory, or opens it when resuming and reads
// its config into cfg (which must be of the same method, with the same
// data).
func openLMRun(cmd *cobra.Command, f runFlags, cfg *lmRunConfig) (*train.Run, error) {
	if f.resume != "" {
		if err := checkResumeFlags(cmd); err != nil {
			return nil, err
		}
		r, err := train.OpenRun(f.resume)
		if err != nil {
			return nil, err
		}
		method := cfg.Method
		*cfg = lmRunConfig{}
		if err := r.ReadConfig(cfg); err != nil {
			r.Close()
			return nil, err
		}
		if cfg.Method != method {
			r.Close()
			return nil, fmt.Errorf("%s is a %s run, not %s", f.resume, cfg.Method, method)
		}
		if err := checkInputDigests(f.resume, cfg.Inputs); err != nil {
			r.Close()
			return nil, err
		}
		r.SaveTotalLimit = lmSaveTotalLimit // a resumed run prunes as the first did
		return r, nil
	}
	if cfg.Model == "" {
		return nil, fmt.Errorf("no model: give --model DIR")
	}
	if len(cfg.Data) == 0 {
		return nil, fmt.Errorf("no data: give --data FILE")
	}
	if err := checkRunInputs([]string{cfg.Model, cfg.RefModel}, append(append([]string(nil), cfg.Data...), cfg.EvalData...)); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := checkExportTRL(cfg); err != nil {
		return nil, err
	}
	dir := f.runDir
	if dir == "" {
		dir = filepath.Join("runs", train.NewRunID(cfg.Method, time.Now()))
	}
	if cfg.RefCacheDir == "" && cfg.Method == "dpo" {
		cfg.RefCacheDir = filepath.Join(filepath.Dir(dir), "ref-cache")
	}
	if err := absPaths(&cfg.Model, &cfg.RefModel, &cfg.RefCacheDir, &cfg.ExportTRL); err != nil {
		return nil, err
	}
	if err := absSlice(cfg.Data); err != nil {
		return nil, err
	}
	if err := absSlice(cfg.EvalData); err != nil {
		return nil, err
	}
	var err error
	if cfg.Inputs, err = inputDigests(append(append([]string(nil), cfg.Data...), cfg.EvalData...)); err != nil {
		return nil, err
	}
	r, err := train.CreateRun(dir, cfg)
	if err != nil {
		return nil, err
	}
	if err := writeTrainMeta(dir, cfg.Method, cfg.trainingArgs()); err != nil {
		r.Close()
		return nil, err
	}
	r.SaveTotalLimit = lmSaveTotalLimit
	return r, nil
}

// checkExportTRL refuses an --export-trl directory whose files (the data
// set, the TRL config and script, the model under model/) would replace
// the model, the reference model or a data file the run reads.
func checkExportTRL(cfg *lmRunConfig) error {
	if cfg.ExportTRL == "" {
		return nil
	}
	names := []string{train.TRLConfigFile, train.TRLScriptFile, train.TRLTrainFile, train.TRLEvalFile}
	for _, f := range hf.SavedFiles {
		names = append(names, filepath.Join(train.TRLModelDir, f))
	}
	ins := outpath.ModelDir(cfg.Model)
	if cfg.RefModel != "" {
		ins = append(ins, outpath.ModelDir(cfg.RefModel)...)
	}
	for _, d := range append(append([]string(nil), cfg.Data...), cfg.EvalData...) {
		ins = append(ins, outpath.Input{Path: d, What: "a data file"})
	}
	return outpath.Dir("--export-trl", cfg.ExportTRL, names, ins...)
}

// validate checks the method's options before a run directory is made,
// so a bad flag leaves no incomplete run behind (the trainers check them
// again).
func (c *lmRunConfig) validate() error {
	var err error
	switch {
	case c.DPO != nil:
		err = c.DPO.Validate()
	case c.SFT != nil:
		err = c.SFT.TrainingArgs.Validate()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c.Method, err)
	}
	return nil
}

// lmSaveTotalLimit is how many newest checkpoints an SFT or DPO run keeps.
const lmSaveTotalLimit = 2

// sequenceLimit is the --max-length a run uses: the flag when it is set
// and fits the model's context, else the model's context.
func sequenceLimit(flag int, m *model.Model) int {
	if flag <= 0 || flag > m.Config.MaxSeqLen {
		return m.Config.MaxSeqLen
	}
	return flag
}

// loadLMModel reads the model; text data needs its tokenizer.
func loadLMModel(dir string) (*model.Model, *tokenizer.Tokenizer, error) {
	m, tok, err := loadModel(dir)
	if err != nil {
		return nil, nil, err
	}
	if tok == nil {
		return nil, nil, fmt.Errorf("%s has no tokenizer.json, which text data needs; train or copy one there ('alignlab tokenizer train')", dir)
	}
	return m, tok, nil
}

// reportData prints a data report and keeps it in the run directory.
func reportData(w io.Writer, r *train.Run, name string, rep *train.DataReport, files []string) error {
	rep.Print(w, strings.Join(files, ","))
	return train.WriteJSON(filepath.Join(r.Dir, name), rep)
}

// attachLoRA puts fresh adapters on m when the run asks for them.
func attachLoRA(w io.Writer, m *model.Model, cfg *train.LoRAConfig, seed int64) (*train.LoRA, error) {
	if cfg == nil {
		return nil, nil
	}
	l, err := train.NewLoRA(m, *cfg, seed)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "LoRA r=%d alpha=%g on %v: %d trainable parameters of %d\n", cfg.R, cfg.Alpha, cfg.Targets, l.NumTrainable(), len(m.Params.Data))
	return l, nil
}

// finishLM saves the trained model (merged, with its tokenizer), the PEFT
// adapter with LoRA, and prints the last train and eval metrics.
func finishLM(cmd *cobra.Command, r *train.Run, f runFlags, cfg *lmRunConfig, m *model.Model, tok *tokenizer.Tokenizer, l *train.LoRA, keys []string) error {
	out := filepath.Join(r.Dir, "model")
	if err := savePolicy(out, m, tok); err != nil {
		return err
	}
	if l != nil {
		err := train.WriteDirAtomic(filepath.Join(r.Dir, "adapter"), func(tmp string) error {
			return l.SaveAdapter(tmp, cfg.Model)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "PEFT adapter written to %s\n", filepath.Join(r.Dir, "adapter"))
	}
	ms, err := train.ReadMetrics(r.Dir)
	if err != nil {
		return err
	}
	last := map[string]float64{}
	for _, m := range ms {
		for k, v := range m {
			last[k] = v
		}
	}
	var shown []string
	for _, k := range keys {
		shown = append(shown, k, "eval_"+k)
	}
	return printFinal(cmd.OutOrStdout(), f.asJSON, out, last, shown)
}
