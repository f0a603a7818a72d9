package main

import (
	"fmt"

	"github.com/alignlab/alignlab/train"
	"github.com/spf13/cobra"
)

func newTrainPPOCmd() *cobra.Command {
	var (
		f   runFlags
		cfg = rlRunConfig{Method: "ppo"}
		c   = train.DefaultPPOConfig()
	)
	cmd := &cobra.Command{
		Use:   "ppo --model DIR --reward-model DIR --prompts FILE",
		Short: "RLHF with PPO against a reward model",
		Long: `ppo trains the policy in --model with PPO as TRL's PPOTrainer: completions sampled by batched
KV-cache generation are scored by --reward-model at their last token, each token is penalised by
kl_coef times its KL to the starting model (k1, or an adaptive coefficient with --adap-kl-ctrl),
advantages come from GAE on a separate value model (started from --value-model, by default the
reward model) and are whitened, and --num-ppo-epochs epochs of clipped policy and value updates
run over minibatches of each batch. Writes runs/<id>/ (config, metrics.jsonl, checkpoints; resume
with --resume) and the policy to runs/<id>/model.`,
		Example: `  alignlab train ppo --model runs/sft-1/model --reward-model runs/rm-1/model --prompts prompts.jsonl
  alignlab train ppo --model ./policy --reward-model ./rm --prompts prompts.jsonl --kl-coef 0.05 --total-episodes 2000 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg.PPO = &c
			r, err := openRun(cmd, f, &cfg)
			if err != nil {
				return err
			}
			defer closeRun(r, &err)
			c := cfg.PPO
			s, err := loadRL(r, &cfg, &c.RolloutConfig, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			vdir := cfg.ValueModel
			if vdir == "" {
				vdir = cfg.RewardModel
			}
			value, err := train.LoadScalarModel(vdir)
			if err != nil {
				return fmt.Errorf("value model: %w", err)
			}
			tr, err := train.NewPPOTrainer(s.policy, s.ref, value, s.rm, s.prompts, *c)
			if err != nil {
				return err
			}
			keys := append(rlKeys[:len(rlKeys):len(rlKeys)], "loss/value", "val/clipfrac")
			if err := trainRun(cmd, r, tr, f.resume != "", c.TrainingArgs, keys); err != nil {
				return err
			}
			return finishRL(cmd, r, f, s, keys)
		},
	}
	fl := cmd.Flags()
	f.add(fl)
	addRLInputs(fl, &cfg)
	fl.StringVar(&cfg.ValueModel, "value-model", "", "value model to start from (default: the reward model)")
	addTrainingArgs(fl, &c.TrainingArgs)
	addRolloutFlags(fl, &c.RolloutConfig, "response-length")
	fl.IntVar(&c.NumMiniBatches, "num-mini-batches", c.NumMiniBatches, "optimizer steps per epoch over a batch")
	fl.IntVar(&c.TotalEpisodes, "total-episodes", c.TotalEpisodes, "completions to train on (0: num-train-epochs passes)")
	fl.IntVar(&c.NumPPOEpochs, "num-ppo-epochs", c.NumPPOEpochs, "passes over each batch")
	fl.BoolVar(&c.WhitenRewards, "whiten-rewards", c.WhitenRewards, "whiten the per-token rewards")
	fl.Float64Var(&c.KLCoef, "kl-coef", c.KLCoef, "weight of the per-token KL penalty (the start value with --adap-kl-ctrl)")
	fl.StringVar((*string)(&c.KLEstimator), "kl-estimator", string(c.KLEstimator), "k1 or k3")
	fl.BoolVar(&c.AdaptiveKL, "adap-kl-ctrl", c.AdaptiveKL, "adapt kl_coef towards --target KL per sequence")
	fl.Float64Var(&c.Target, "target", c.Target, "target KL for --adap-kl-ctrl")
	fl.Float64Var(&c.Horizon, "horizon", c.Horizon, "horizon (episodes) for --adap-kl-ctrl")
	fl.Float64Var(&c.Cliprange, "cliprange", c.Cliprange, "policy ratio clip range")
	fl.Float64Var(&c.VFCoef, "vf-coef", c.VFCoef, "weight of the value loss")
	fl.Float64Var(&c.CliprangeValue, "cliprange-value", c.CliprangeValue, "value clip range")
	fl.Float64Var(&c.Gamma, "gamma", c.Gamma, "discount")
	fl.Float64Var(&c.Lam, "lam", c.Lam, "GAE lambda")
	return cmd
}
