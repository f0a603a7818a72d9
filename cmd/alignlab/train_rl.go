package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/alignlab/alignlab/internal/modeldir"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
	"github.com/alignlab/alignlab/train"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// rlRunConfig is what a reward-model, PPO, RLOO or GRPO run records in its
// config.json: where its inputs came from and its options, so --resume
// rebuilds the same run without the flags.
type rlRunConfig struct {
	Method      string              `json:"method"`
	Model       string              `json:"model"`
	RewardModel string              `json:"reward_model,omitempty"`
	ValueModel  string              `json:"value_model,omitempty"`
	Data        []string            `json:"data,omitempty"`
	EvalData    string              `json:"eval_data,omitempty"`
	EvalSplit   float64             `json:"eval_split"`
	Prompts     string              `json:"prompts,omitempty"`
	MaxPrompt   int                 `json:"max_prompt_length,omitempty"`
	RM          *train.RewardConfig `json:"reward_config,omitempty"`
	PPO         *train.PPOConfig    `json:"ppo_config,omitempty"`
	RLOO        *train.RLOOConfig   `json:"rloo_config,omitempty"`
	GRPO        *train.GRPOConfig   `json:"grpo_config,omitempty"`
	// Inputs is the SHA-256 of each data or prompts file, checked on
	// resume.
	Inputs map[string]string `json:"inputs_sha256,omitempty"`
}

// runFlags are the flags every training command here shares.
type runFlags struct {
	runDir, resume string
	asJSON         bool
}

func (f *runFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&f.runDir, "run-dir", "", "run directory (default runs/<method>-<time>)")
	fl.StringVar(&f.resume, "resume", "", "continue the run in this directory from its last checkpoint (its config.json replaces the flags)")
	fl.BoolVar(&f.asJSON, "json", false, "print the final figures as one JSON object")
}

// addTrainingArgs registers transformers' TrainingArguments as flags.
func addTrainingArgs(fl *pflag.FlagSet, a *train.TrainingArgs) {
	fl.Float32Var(&a.LearningRate, "learning-rate", a.LearningRate, "AdamW learning rate")
	fl.IntVar(&a.PerDeviceTrainBatchSize, "per-device-train-batch-size", a.PerDeviceTrainBatchSize, "sequences (pairs for a reward model) per forward/backward pass")
	fl.IntVar(&a.GradientAccumulationSteps, "gradient-accumulation-steps", a.GradientAccumulationSteps, "micro-batches per optimizer step")
	fl.IntVar(&a.NumTrainEpochs, "num-train-epochs", a.NumTrainEpochs, "passes over the data")
	fl.IntVar(&a.MaxSteps, "max-steps", a.MaxSteps, "stop after this many steps (0: by epochs)")
	fl.StringVar(&a.LRSchedulerType, "lr-scheduler-type", a.LRSchedulerType, "linear, cosine, constant or constant_with_warmup")
	fl.Float64Var(&a.WarmupRatio, "warmup-ratio", a.WarmupRatio, "share of the steps spent warming up")
	fl.Float32Var(&a.WeightDecay, "weight-decay", a.WeightDecay, "AdamW decoupled weight decay")
	fl.Float32Var(&a.MaxGradNorm, "max-grad-norm", a.MaxGradNorm, "clip the global gradient norm (0: off)")
	fl.IntVar(&a.LoggingSteps, "logging-steps", a.LoggingSteps, "log mean metrics every N steps")
	fl.IntVar(&a.EvalSteps, "eval-steps", a.EvalSteps, "evaluate every N steps (0: at the end)")
	fl.IntVar(&a.SaveSteps, "save-steps", a.SaveSteps, "checkpoint every N steps")
	fl.Int64Var(&a.Seed, "seed", a.Seed, "seed for data order and sampling")
}

// addRolloutFlags registers the sampling options of the RL commands.
func addRolloutFlags(fl *pflag.FlagSet, rc *train.RolloutConfig, lengthName string) {
	fl.IntVar(&rc.ResponseLength, lengthName, rc.ResponseLength, "most tokens sampled per completion")
	fl.Int32SliceVar(&rc.StopTokenIDs, "stop-token-id", nil, "token ids that end a completion (default: the tokenizer's EOS and end-of-turn tokens)")
	fl.Float64Var(&rc.MissingEOSPenalty, "missing-eos-penalty", rc.MissingEOSPenalty, "subtracted from the score of a completion with no stop token")
	fl.IntVar(&rc.LocalRolloutForwardBatchSize, "local-rollout-forward-batch-size", rc.LocalRolloutForwardBatchSize, "sequences per scoring forward pass")
}

// openRun creates the run directory, or opens it when resuming (with no
// other flag that changes the run, over the same data) and reads
// its config into cfg.
func openRun(cmd *cobra.Command, f runFlags, cfg *rlRunConfig) (*train.Run, error) {
	if f.resume != "" {
		if err := checkResumeFlags(cmd); err != nil {
			return nil, err
		}
		r, err := train.OpenRun(f.resume)
		if err != nil {
			return nil, err
		}
		// Only what config.json holds counts: a field it leaves out (an
		// eval split of 0) must not keep this command's default. The
		// method's own options are read into the structs the command
		// holds, whose fields the file always lists.
		method := cfg.Method
		*cfg = rlRunConfig{Method: method, RM: cfg.RM, PPO: cfg.PPO, RLOO: cfg.RLOO, GRPO: cfg.GRPO}
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
		return r, nil
	}
	if err := checkRunInputs([]string{cfg.Model, cfg.RewardModel, cfg.ValueModel}, append([]string{cfg.EvalData, cfg.Prompts}, cfg.Data...)); err != nil {
		return nil, err
	}
	if a := cfg.trainingArgs(); a != nil { // before the run directory is made
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Method, err)
		}
	}
	dir := f.runDir
	if dir == "" {
		dir = filepath.Join("runs", train.NewRunID(cfg.Method, time.Now()))
	}
	if err := absPaths(&cfg.Model, &cfg.RewardModel, &cfg.ValueModel, &cfg.EvalData, &cfg.Prompts); err != nil {
		return nil, err
	}
	if err := absSlice(cfg.Data); err != nil {
		return nil, err
	}
	var err error
	if cfg.Inputs, err = inputDigests(append([]string{cfg.EvalData, cfg.Prompts}, cfg.Data...)); err != nil {
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
	return r, nil
}

// closeRun closes r after a train command: when the command failed,
// through train.Run.Discard, which removes a run it created that never
// started training (a model without a tokenizer, data with no usable
// example), so that 'runs ls' does not list it as incomplete.
func closeRun(r *train.Run, err *error) {
	if *err != nil {
		r.Discard()
		return
	}
	r.Close()
}

// trainRun drives s in r (resuming first when asked) with a progress line
// on stderr, stopping cleanly on Ctrl-C with a checkpoint.
func trainRun(cmd *cobra.Command, r *train.Run, s train.Stepper, resume bool, a train.TrainingArgs, keys []string) error {
	if !quietFlag(cmd) {
		r.Progress = cmd.ErrOrStderr()
	}
	if resume {
		// With no checkpoint Resume starts over; a run whose model is
		// written has finished, and its checkpoints were removed since:
		// starting over would replace the model and its metrics.
		if _, _, ok, err := r.LatestCheckpoint(); err == nil && !ok && isDir(filepath.Join(r.Dir, "model")) {
			return fmt.Errorf("%s has finished (its model is written) and has no checkpoint left to resume from; start a new run to train again", r.Dir)
		}
		step, err := r.Resume(s)
		if err != nil {
			return err
		}
		if step == 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s stopped before its first checkpoint: starting it again from step 0 of %d\n", r.Dir, s.NumSteps())
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "resuming %s at step %d of %d\n", r.Dir, step, s.NumSteps())
		}
	}
	ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt)
	defer stop()
	return r.Train(ctx, s, train.LoopConfig{LoggingSteps: a.LoggingSteps, EvalSteps: a.EvalSteps, SaveSteps: a.SaveSteps, ProgressKeys: keys})
}

// loadModel reads a model directory in either layout, with its tokenizer.
func loadModel(dir string) (*model.Model, *tokenizer.Tokenizer, error) {
	if dir == "" {
		return nil, nil, fmt.Errorf("no model: give --model DIR")
	}
	return modeldir.Load(dir)
}

// savePolicy writes the trained policy (and its tokenizer) to dir in
// alignlab's layout ('alignlab export hf' converts it), atomically
// (train.WriteDirAtomic).
func savePolicy(dir string, m *model.Model, tok *tokenizer.Tokenizer) error {
	return train.WriteDirAtomic(dir, func(tmp string) error {
		if err := m.Save(tmp); err != nil {
			return err
		}
		if tok != nil {
			return tok.Save(tmp)
		}
		return nil
	})
}

// rlSetup is what the three RL commands load before building a trainer.
type rlSetup struct {
	policy, ref *model.Model
	tok         *tokenizer.Tokenizer
	rm          *train.ScalarModel
	prompts     [][]int32
}

// loadRL loads the policy (and a frozen copy as the reference), the
// reward model and the prompts, checking they fit together; stop tokens
// default to the tokenizer's.
func loadRL(r *train.Run, cfg *rlRunConfig, rc *train.RolloutConfig, progress io.Writer) (*rlSetup, error) {
	var s rlSetup
	var err error
	if s.policy, s.tok, err = loadModel(cfg.Model); err != nil {
		return nil, err
	}
	if s.ref, err = train.CloneModel(s.policy); err != nil {
		return nil, err
	}
	if cfg.RewardModel == "" {
		return nil, fmt.Errorf("no reward model: give --reward-model DIR (from 'alignlab train rm')")
	}
	if s.rm, err = train.LoadScalarModel(cfg.RewardModel); err != nil {
		return nil, err
	}
	if s.rm.Model.Config.VocabSize != s.policy.Config.VocabSize {
		return nil, fmt.Errorf("the reward model's vocabulary (%d) differs from the policy's (%d): both must use one tokenizer", s.rm.Model.Config.VocabSize, s.policy.Config.VocabSize)
	}
	if cfg.Prompts == "" {
		return nil, fmt.Errorf("no prompts: give --prompts FILE (JSONL with input_ids or prompt)")
	}
	// A prompt and its response must fit the context: a longer prompt
	// would fail its rollout mid-run, so it is skipped when read.
	room := s.policy.Config.MaxSeqLen - rc.ResponseLength
	if room < 1 {
		return nil, fmt.Errorf("the response length %d leaves no room for a prompt in the model's context of %d tokens", rc.ResponseLength, s.policy.Config.MaxSeqLen)
	}
	maxPrompt := room
	if cfg.MaxPrompt > 0 {
		maxPrompt = min(cfg.MaxPrompt, room)
	}
	var tk train.Tokenizer
	if s.tok != nil {
		tk = s.tok
	}
	prompts, rep, err := train.ReadPrompts(cfg.Prompts, tk, maxPrompt)
	if rep != nil {
		if werr := reportData(progress, r, "data_report.json", rep, []string{cfg.Prompts}); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return nil, err
	}
	s.prompts = prompts
	if rc.StopTokenIDs == nil && s.tok != nil {
		rc.StopTokenIDs = s.tok.StopTokens()
	}
	return &s, nil
}

// finishRL saves the policy and prints the last logged metrics.
func finishRL(cmd *cobra.Command, r *train.Run, f runFlags, s *rlSetup, keys []string) error {
	out := filepath.Join(r.Dir, "model")
	if err := savePolicy(out, s.policy, s.tok); err != nil {
		return err
	}
	ms, err := train.ReadMetrics(r.Dir)
	if err != nil {
		return err
	}
	last := map[string]float64{}
	if len(ms) > 0 {
		last = ms[len(ms)-1]
	}
	return printFinal(cmd.OutOrStdout(), f.asJSON, out, last, keys)
}

// printFinal reports where the model went and the final metrics.
func printFinal(w io.Writer, asJSON bool, out string, m map[string]float64, keys []string) error {
	if asJSON {
		return writeJSON(w, map[string]any{"model": out, "metrics": m})
	}
	fmt.Fprintf(w, "model written to %s\n", out)
	for _, k := range keys {
		if v, ok := m[k]; ok {
			fmt.Fprintf(w, "  %-28s %.4g\n", k, v)
		}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// rlKeys are the metrics the RL commands show.
var rlKeys = []string{"objective/scores", "objective/kl", "objective/rlhf_reward", "policy/clipfrac", "loss/policy", "lr"}

func newTrainRLOOCmd() *cobra.Command {
	var (
		f   runFlags
		cfg = rlRunConfig{Method: "rloo"}
		c   = train.DefaultRLOOConfig()
	)
	cmd := &cobra.Command{
		Use:   "rloo --model DIR --reward-model DIR --prompts FILE",
		Short: "Critic-free RLHF with RLOO (k samples per prompt, leave-one-out baseline)",
		Long: `rloo trains the policy in --model with REINFORCE Leave-One-Out (Ahmadian et al. 2024), as
TRL's RLOOTrainer: --rloo-k completions per prompt, each one's advantage its reward (from
--reward-model, minus kl_coef times its KL to the starting model) less the mean of the others',
then clipped policy-gradient epochs. No value model. Writes runs/<id>/ (config, metrics.jsonl,
checkpoints) and the policy to runs/<id>/model.`,
		Example: `  alignlab train rloo --model runs/sft-1/model --reward-model runs/rm-1/model --prompts prompts.jsonl --rloo-k 4
  alignlab train rloo --model ./policy --reward-model ./rm --prompts prompts.jsonl --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg.RLOO = &c
			r, err := openRun(cmd, f, &cfg)
			if err != nil {
				return err
			}
			defer closeRun(r, &err)
			c := cfg.RLOO
			s, err := loadRL(r, &cfg, &c.RolloutConfig, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			tr, err := train.NewRLOOTrainer(s.policy, s.ref, s.rm, s.prompts, *c)
			if err != nil {
				return err
			}
			if err := trainRun(cmd, r, tr, f.resume != "", c.TrainingArgs, rlKeys); err != nil {
				return err
			}
			return finishRL(cmd, r, f, s, rlKeys)
		},
	}
	fl := cmd.Flags()
	f.add(fl)
	addRLInputs(fl, &cfg)
	addTrainingArgs(fl, &c.TrainingArgs)
	addRolloutFlags(fl, &c.RolloutConfig, "response-length")
	fl.IntVar(&c.RLOOK, "rloo-k", c.RLOOK, "completions per prompt")
	fl.IntVar(&c.NumMiniBatches, "num-mini-batches", c.NumMiniBatches, "optimizer steps per epoch over a batch")
	fl.IntVar(&c.TotalEpisodes, "total-episodes", c.TotalEpisodes, "completions to train on (0: num-train-epochs passes)")
	fl.IntVar(&c.NumPPOEpochs, "num-ppo-epochs", c.NumPPOEpochs, "passes over each batch")
	fl.Float64Var(&c.KLCoef, "kl-coef", c.KLCoef, "weight of the KL penalty in the reward")
	fl.Float64Var(&c.Cliprange, "cliprange", c.Cliprange, "policy ratio clip range")
	fl.BoolVar(&c.NormalizeReward, "normalize-reward", c.NormalizeReward, "standardise scores over the batch")
	fl.BoolVar(&c.NormalizeAdvantage, "normalize-advantage", c.NormalizeAdvantage, "standardise advantages over the batch")
	return cmd
}

func newTrainGRPOCmd() *cobra.Command {
	var (
		f   runFlags
		cfg = rlRunConfig{Method: "grpo"}
		c   = train.DefaultGRPOConfig()
		rc  train.RolloutConfig
	)
	rc.ResponseLength, rc.LocalRolloutForwardBatchSize = c.MaxCompletionLength, c.LocalRolloutForwardBatchSize
	cmd := &cobra.Command{
		Use:   "grpo --model DIR --reward-model DIR --prompts FILE",
		Short: "Critic-free RL with GRPO (group-normalised advantages, KL in the loss)",
		Long: `grpo trains the policy in --model with Group Relative Policy Optimization (Shao et al. 2024),
as TRL's GRPOTrainer: --num-generations completions per prompt, advantages standardised within
each group, a clipped surrogate per token plus --beta times the k3 KL to the starting model.
--loss-type picks grpo, bnpo, dapo or dr_grpo. Writes runs/<id>/ and the policy to runs/<id>/model.`,
		Example: `  alignlab train grpo --model runs/sft-1/model --reward-model runs/rm-1/model --prompts prompts.jsonl --num-generations 8
  alignlab train grpo --model ./policy --reward-model ./rm --prompts prompts.jsonl --loss-type dr_grpo --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			c.MaxCompletionLength, c.StopTokenIDs = rc.ResponseLength, rc.StopTokenIDs
			c.MissingEOSPenalty, c.LocalRolloutForwardBatchSize = rc.MissingEOSPenalty, rc.LocalRolloutForwardBatchSize
			cfg.GRPO = &c
			r, err := openRun(cmd, f, &cfg)
			if err != nil {
				return err
			}
			defer closeRun(r, &err)
			c := cfg.GRPO
			rc := train.RolloutConfig{ResponseLength: c.MaxCompletionLength, StopTokenIDs: c.StopTokenIDs}
			s, err := loadRL(r, &cfg, &rc, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			c.StopTokenIDs = rc.StopTokenIDs
			tr, err := train.NewGRPOTrainer(s.policy, s.ref, s.rm, s.prompts, *c)
			if err != nil {
				return err
			}
			keys := []string{"reward", "reward_std", "kl", "clip_ratio", "loss/policy", "lr"}
			if err := trainRun(cmd, r, tr, f.resume != "", c.TrainingArgs, keys); err != nil {
				return err
			}
			return finishRL(cmd, r, f, s, keys)
		},
	}
	fl := cmd.Flags()
	f.add(fl)
	addRLInputs(fl, &cfg)
	addTrainingArgs(fl, &c.TrainingArgs)
	addRolloutFlags(fl, &rc, "max-completion-length")
	fl.IntVar(&c.NumGenerations, "num-generations", c.NumGenerations, "completions per prompt")
	fl.IntVar(&c.NumIterations, "num-iterations", c.NumIterations, "optimizer steps per sampled batch (mu)")
	fl.IntVar(&c.TotalEpisodes, "total-episodes", c.TotalEpisodes, "completions to train on (0: num-train-epochs passes)")
	fl.Float64Var(&c.Beta, "beta", c.Beta, "weight of the per-token KL to the reference (0: none)")
	fl.Float64Var(&c.Epsilon, "epsilon", c.Epsilon, "policy ratio clip range")
	fl.BoolVar(&c.ScaleRewards, "scale-rewards", c.ScaleRewards, "divide centred group rewards by their standard deviation")
	fl.StringVar(&c.LossType, "loss-type", c.LossType, "grpo, bnpo, dapo or dr_grpo")
	return cmd
}

// addRLInputs registers the model, reward model and prompt flags.
func addRLInputs(fl *pflag.FlagSet, cfg *rlRunConfig) {
	fl.StringVar(&cfg.Model, "model", "", "the policy to train (alignlab or Hugging Face directory)")
	fl.StringVar(&cfg.RewardModel, "reward-model", "", "reward model directory from 'alignlab train rm'")
	fl.StringVar(&cfg.Prompts, "prompts", "", "JSONL prompts: input_ids, or prompt as text or messages")
	fl.IntVar(&cfg.MaxPrompt, "max-prompt-length", 0, "skip longer prompts (0: what fits before the completion)")
}

// contextOf is the command's context (never nil).
func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
