package main

import (
	"fmt"

	"github.com/alignlab/alignlab/prefs"
	"github.com/alignlab/alignlab/train"
	"github.com/spf13/cobra"
)

// dpoKeys are the metrics 'train dpo' shows.
var dpoKeys = []string{"loss", "rewards/accuracies", "rewards/margins", "learning_rate"}

func newTrainDPOCmd() *cobra.Command {
	var (
		f   runFlags
		lf  lmFlags
		c   = train.DefaultDPOConfig()
		cfg = lmRunConfig{Method: "dpo"}
	)
	cmd := &cobra.Command{
		Use:   "dpo --model DIR --data FILE",
		Short: "Preference optimisation: DPO, IPO, hinge, robust DPO, SimPO or ORPO",
		Long: `dpo trains the model in --model on preference pairs as TRL's DPOTrainer (CPOTrainer for simpo,
ORPOTrainer for orpo). --data is JSONL in TRL's format: prompt/chosen/rejected as strings or as
message lists (rendered with the model's chat template), or chosen/rejected conversations whose
common beginning is the prompt; HH-RLHF, UltraFeedback and the other formats 'alignlab data audit'
reads work too (--format). Ties, empty responses, chosen equal to rejected and pairs over
--max-length tokens are reported by file:line and skipped.

--loss-type: sigmoid (DPO; with --label-smoothing, cDPO), ipo, hinge, robust, simpo (reference-free,
length-normalised, margin --simpo-gamma) or orpo (odds ratio plus NLL, reference-free);
--rpo-alpha adds the NLL of the chosen responses. The reference log-probs are computed once before
training and cached in --ref-cache-dir, so the reference model is never held while training.

Writes runs/<id>/ (config.json, metrics.jsonl with TRL's metric names, data_report.json,
checkpoints/; --resume runs/<id> continues exactly), the trained model to runs/<id>/model and, with
--lora-r, the PEFT adapter to runs/<id>/adapter.`,
		Example: `  alignlab train dpo --model runs/sft-20261126-221500/model --data prefs.jsonl --beta 0.1
  alignlab train dpo --model ./base --data prefs.jsonl --loss-type ipo --lora-r 8 --json
  alignlab train dpo --model ./base --data prefs.jsonl --export-trl trl-exp --export-only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg.DPO, cfg.LoRA = &c, lf.lora()
			r, err := openLMRun(cmd, f, &cfg)
			if err != nil {
				return err
			}
			defer closeRun(r, &err)
			c := cfg.DPO
			log := cmd.ErrOrStderr()
			m, tok, err := loadLMModel(cfg.Model)
			if err != nil {
				return err
			}
			maxLen := sequenceLimit(c.MaxLength, m)
			format, err := prefs.ParseFormat(cfg.Format)
			if err != nil {
				return err
			}
			opts := prefs.ReadOptions{Format: format}
			pairs, rep, err := train.ReadPrefPairs(contextOf(cmd), cfg.Data, tok, maxLen, opts)
			if err != nil {
				return err
			}
			if err := reportData(log, r, "data_report.json", rep, cfg.Data); err != nil {
				return err
			}
			var eval []train.PrefPair
			if len(cfg.EvalData) > 0 {
				var erep *train.DataReport
				if eval, erep, err = train.ReadPrefPairs(contextOf(cmd), cfg.EvalData, tok, maxLen, opts); err != nil {
					return err
				}
				if err := reportData(log, r, "eval_data_report.json", erep, cfg.EvalData); err != nil {
					return err
				}
			} else {
				pairs, eval = train.SplitEval(pairs, cfg.EvalFraction, c.Seed)
			}
			if len(pairs) == 0 {
				return fmt.Errorf("no usable training pairs in %v (see the report above)", cfg.Data)
			}
			if cfg.ExportTRL != "" && f.resume == "" {
				if c.LossType == train.LossORPO && c.RPOAlpha > 0 {
					fmt.Fprintln(log, "note: TRL's ORPO has no extra NLL weight; --rpo-alpha is left out of the export")
				}
				if err := train.ExportTRLDPO(cfg.ExportTRL, m, tok, pairs, eval, *c, cfg.LoRA); err != nil {
					return err
				}
				fmt.Fprintf(log, "TRL experiment written to %s (run: python %s/train_trl.py)\n", cfg.ExportTRL, cfg.ExportTRL)
				if lf.exportOnly {
					return nil
				}
			}
			lora, err := attachLoRA(log, m, cfg.LoRA, c.Seed)
			if err != nil {
				return err
			}
			o := train.DPOOptions{RefCacheDir: cfg.RefCacheDir, LoRA: lora, Log: log}
			if cfg.RefModel != "" && !c.ReferenceFree() {
				if o.Ref, _, err = loadModel(cfg.RefModel); err != nil {
					return err
				}
			}
			c.MaxLength = maxLen
			tr, err := train.NewDPOTrainer(m, pairs, eval, *c, o)
			if err != nil {
				return err
			}
			o.Ref = nil // the reference is not needed past its log-probs
			if err := trainRun(cmd, r, tr, f.resume != "", c.TrainingArgs, dpoKeys); err != nil {
				return err
			}
			return finishLM(cmd, r, f, &cfg, m, tok, lora, dpoKeys)
		},
	}
	fl := cmd.Flags()
	f.add(fl)
	lf.add(fl, &cfg, &c.TrainingArgs)
	addTrainingArgs(fl, &c.TrainingArgs)
	fl.StringVar(&c.LossType, "loss-type", c.LossType, "sigmoid, ipo, hinge, robust, simpo or orpo")
	fl.Float64Var(&c.Beta, "beta", c.Beta, "beta: the strength of the KL constraint (IPO's tau, SimPO's beta, ORPO's lambda)")
	fl.Float64Var(&c.LabelSmoothing, "label-smoothing", c.LabelSmoothing, "assumed label-flip probability (sigmoid: cDPO; robust; simpo)")
	fl.Float64Var(&c.RPOAlpha, "rpo-alpha", c.RPOAlpha, "weight of the chosen responses' NLL added to the loss (RPO; 0: off)")
	fl.Float64Var(&c.SimPOGamma, "simpo-gamma", c.SimPOGamma, "SimPO's target reward margin")
	fl.IntVar(&c.MaxLength, "max-length", c.MaxLength, "longest prompt+response in tokens; longer pairs are skipped (capped at the model's context)")
	fl.StringVar(&cfg.RefModel, "ref-model", "", "reference model (default: --model before training)")
	fl.StringVar(&cfg.RefCacheDir, "ref-cache-dir", "", "where reference log-probs are cached (default: runs/ref-cache)")
	fl.StringVar(&cfg.Format, "format", "auto", "data format: auto, trl, hh-rlhf, ultrafeedback, arena, summarize or shp")
	return cmd
}
