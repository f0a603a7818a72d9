package main

import (
	"fmt"

	"github.com/alignlab/alignlab/train"
	"github.com/spf13/cobra"
)

// sftKeys are the metrics 'train sft' shows.
var sftKeys = []string{"loss", "learning_rate", "tokens_per_second"}

func newTrainSFTCmd() *cobra.Command {
	var (
		f   runFlags
		lf  lmFlags
		c   = train.DefaultSFTConfig()
		cfg = lmRunConfig{Method: "sft"}
	)
	cmd := &cobra.Command{
		Use:   "sft --model DIR --data FILE",
		Short: "Supervised fine-tuning on chat or text data",
		Long: `sft fine-tunes the model in --model as TRL's SFTTrainer. --data is JSONL (or .jsonl.gz) in TRL's
formats: {"messages": [{"role", "content"}, ...]} rendered with the model's chat template, the loss
on assistant tokens only (--assistant-only-loss=false: every token); {"text": ...} with the loss on
every token; or {"prompt": ..., "completion": ...} with the loss on the completion. Sequences are
right-padded within a micro-batch; rows over --max-length tokens are truncated and counted, rows
without a token to train on are reported by file:line and skipped. eval_loss is measured on
--eval-data or --eval-fraction of --data.

Writes runs/<id>/ (config.json, metrics.jsonl, data_report.json, checkpoints/; --resume runs/<id>
continues exactly), the model to runs/<id>/model and, with --lora-r, the PEFT adapter to
runs/<id>/adapter.`,
		Example: `  alignlab train sft --model ./SmolLM2-135M --data chats.jsonl --num-train-epochs 1
  alignlab train sft --model ./base --data chats.jsonl --lora-r 8 --json
  alignlab train sft --resume runs/sft-20261126-221500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg.SFT, cfg.LoRA = &c, lf.lora()
			r, err := openLMRun(cmd, f, &cfg)
			if err != nil {
				return err
			}
			defer closeRun(r, &err)
			c := cfg.SFT
			log := cmd.ErrOrStderr()
			m, tok, err := loadLMModel(cfg.Model)
			if err != nil {
				return err
			}
			maxLen := sequenceLimit(c.MaxLength, m)
			exs, rep, err := train.ReadSFTExamples(cfg.Data, tok, maxLen, c.AssistantOnlyLoss)
			if err != nil {
				return err
			}
			if err := reportData(log, r, "data_report.json", rep, cfg.Data); err != nil {
				return err
			}
			var eval []train.SFTExample
			if len(cfg.EvalData) > 0 {
				var erep *train.DataReport
				if eval, erep, err = train.ReadSFTExamples(cfg.EvalData, tok, maxLen, c.AssistantOnlyLoss); err != nil {
					return err
				}
				if err := reportData(log, r, "eval_data_report.json", erep, cfg.EvalData); err != nil {
					return err
				}
			} else {
				exs, eval = train.SplitEval(exs, cfg.EvalFraction, c.Seed)
			}
			if len(exs) == 0 {
				return fmt.Errorf("no usable training examples in %v (see the report above)", cfg.Data)
			}
			if cfg.ExportTRL != "" && f.resume == "" {
				if err := train.ExportTRLSFT(cfg.ExportTRL, m, tok, exs, eval, *c, cfg.LoRA); err != nil {
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
			tr, err := train.NewSFTTrainer(m, exs, eval, *c, train.SFTOptions{LoRA: lora})
			if err != nil {
				return err
			}
			if err := trainRun(cmd, r, tr, f.resume != "", c.TrainingArgs, sftKeys); err != nil {
				return err
			}
			return finishLM(cmd, r, f, &cfg, m, tok, lora, sftKeys)
		},
	}
	fl := cmd.Flags()
	f.add(fl)
	lf.add(fl, &cfg, &c.TrainingArgs)
	addTrainingArgs(fl, &c.TrainingArgs)
	fl.IntVar(&c.MaxLength, "max-length", c.MaxLength, "truncate longer examples to this many tokens (capped at the model's context)")
	fl.BoolVar(&c.AssistantOnlyLoss, "assistant-only-loss", c.AssistantOnlyLoss, "conversations: the loss on assistant tokens only")
	return cmd
}
