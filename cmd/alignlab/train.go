package main

import "github.com/spf13/cobra"

// newTrainCmd is the parent of the training commands. Each method is one
// subcommand in its own file (train_sft.go, train_dpo.go, train_rm.go,
// train_ppo.go, train_rl.go); add a new one to the AddCommand list below.
func newTrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a model: SFT, the DPO family, a reward model, PPO, RLOO, GRPO",
		Long: `train fine-tunes a local model (an alignlab checkpoint or a Hugging Face directory with
config.json, model.safetensors and tokenizer.json) with one method per subcommand, under TRL's
option and metric names. Every run writes runs/<id>/: config.json, metrics.jsonl, checkpoints/
(atomic; --resume runs/<id> continues exactly) and the trained model.`,
		Example: `  alignlab train sft --model ./base --data chats.jsonl
  alignlab train dpo --model runs/sft-20261126-221500/model --data prefs.jsonl`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		newTrainSFTCmd(), newTrainDPOCmd(),
		newTrainRMCmd(), newTrainPPOCmd(), newTrainRLOOCmd(), newTrainGRPOCmd(),
	)
	return cmd
}
