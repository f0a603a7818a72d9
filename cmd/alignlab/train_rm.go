package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/alignlab/alignlab/train"
	"github.com/spf13/cobra"
)

func newTrainRMCmd() *cobra.Command {
	var (
		f   runFlags
		cfg = rlRunConfig{Method: "rm", EvalSplit: 0.1}
		c   = train.DefaultRewardConfig()
	)
	cmd := &cobra.Command{
		Use:   "rm --model DIR --data FILE",
		Short: "Train a Bradley-Terry reward model on preference pairs",
		Long: `rm trains a reward model as TRL's RewardTrainer: the transformer in --model with a scalar head on
the last token, trained so each pair's chosen completion outscores the rejected one (loss
-log sigmoid(r_chosen - r_rejected - margin), optionally plus --center-rewards-coefficient times
the squared sum). --data is pretokenized JSONL (TRL's input_ids_chosen/input_ids_rejected, optional margin) or
any preference format the DPO trainer reads (prompt/chosen/rejected as text or messages,
implicit prompts, HH-RLHF, UltraFeedback, ...), tokenized with the model's tokenizer as DPO
does; rows that are unreadable, empty, ties, have chosen equal to rejected or exceed
--max-length are reported by file:line and skipped.
Held-out pair accuracy is measured on --eval-data, or on --eval-split of --data. Writes
runs/<id>/ (config, metrics.jsonl, data_report.json, checkpoints; resume with --resume) and the reward model to
runs/<id>/model, which 'alignlab train ppo|rloo|grpo --reward-model' reads.`,
		Example: `  alignlab train rm --model runs/sft-20261126-221500/model --data prefs.jsonl
  alignlab train rm --model ./base --data prefs.jsonl --eval-split 0.1 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg.RM = &c
			r, err := openRun(cmd, f, &cfg)
			if err != nil {
				return err
			}
			defer closeRun(r, &err)
			c := cfg.RM
			base, tok, err := loadModel(cfg.Model)
			if err != nil {
				return err
			}
			maxLen := sequenceLimit(c.MaxLength, base)
			if len(cfg.Data) == 0 {
				return fmt.Errorf("no data: give --data FILE (JSONL preference pairs)")
			}
			var tk train.Tokenizer
			if tok != nil {
				tk = tok
			}
			progress := cmd.ErrOrStderr()
			read := func(files []string, report string) ([]train.PreferencePair, error) {
				ps, rep, err := train.ReadRewardPairs(contextOf(cmd), files, tk, maxLen)
				if err != nil {
					return nil, err
				}
				if err := reportData(progress, r, report, rep, files); err != nil {
					return nil, err
				}
				if len(ps) == 0 {
					return nil, fmt.Errorf("%s: no usable preference pair", strings.Join(files, ", "))
				}
				return ps, nil
			}
			pairs, err := read(cfg.Data, "data_report.json")
			if err != nil {
				return err
			}
			var eval []train.PreferencePair
			if cfg.EvalData != "" {
				if eval, err = read([]string{cfg.EvalData}, "eval_data_report.json"); err != nil {
					return err
				}
			} else if cfg.EvalSplit > 0 {
				pairs, eval = train.SplitEval(pairs, cfg.EvalSplit, c.Seed)
			}
			rm, err := train.NewScalarModel(base, c.Seed)
			if err != nil {
				return err
			}
			tr, err := train.NewRewardTrainer(rm, pairs, eval, *c)
			if err != nil {
				return err
			}
			keys := []string{"loss", "accuracy", "margin", "learning_rate", "eval_accuracy", "eval_loss"}
			if err := trainRun(cmd, r, tr, f.resume != "", c.TrainingArgs, keys); err != nil {
				return err
			}
			out := filepath.Join(r.Dir, "model")
			err = train.WriteDirAtomic(out, func(tmp string) error {
				if err := rm.Save(tmp); err != nil {
					return err
				}
				if tok != nil {
					return tok.Save(tmp)
				}
				return nil
			})
			if err != nil {
				return err
			}
			final := map[string]float64{}
			if len(eval) > 0 {
				st, err := train.EvaluateRewardModel(rm, eval, c.PerDeviceTrainBatchSize)
				if err != nil {
					return err
				}
				for k, v := range st.Metrics() {
					final["eval_"+k] = v
				}
				delete(final, "eval_grad_norm")
				delete(final, "eval_learning_rate")
			}
			return printFinal(cmd.OutOrStdout(), f.asJSON, out, final, []string{"eval_accuracy", "eval_loss", "eval_margin"})
		},
	}
	fl := cmd.Flags()
	f.add(fl)
	fl.StringVar(&cfg.Model, "model", "", "the transformer to start from (alignlab or Hugging Face directory)")
	fl.StringSliceVar(&cfg.Data, "data", nil, "JSONL preference pairs (repeat for several files)")
	fl.StringVar(&cfg.EvalData, "eval-data", "", "held-out JSONL pairs (default: --eval-split of --data)")
	fl.Float64Var(&cfg.EvalSplit, "eval-split", cfg.EvalSplit, "share of --data held out when there is no --eval-data")
	addTrainingArgs(fl, &c.TrainingArgs)
	fl.IntVar(&c.MaxLength, "max-length", c.MaxLength, "skip pairs with a longer sequence (0: the model's max_seq_len)")
	fl.Float32Var(&c.CenterRewardsCoefficient, "center-rewards-coefficient", c.CenterRewardsCoefficient, "weight of the reward-centering term (0: off)")
	return cmd
}
