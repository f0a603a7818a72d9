package main

import "github.com/spf13/cobra"

// newInspectCmd groups the interpretability commands. Each subcommand lives
// in its own inspect_*.go file and is added here.
func newInspectCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Look inside a model: activation cache, logit lens, patching, probes, steering, SAEs",
		Long: `inspect runs a local model (a checkpoint directory: config.json + model.safetensors, with
its tokenizer or a lab policy's codec) with hooks at TransformerLens's hook points and reports
what it finds. Each subcommand writes runs/<id>/ with its results as JSON (and an HTML report)
and prints the path; --json prints the results instead.`,
		Example: `  alignlab inspect mirage --json
  alignlab inspect lens --model runs/lab-.../checkpoints/clean-seed1000 --prompt "what is 3 plus 4"`,
	}
	cmd.AddCommand(newInspectMirageCmd(), newInspectProbeCmd(), newInspectSteerCmd(), newInspectCacheCmd(), newInspectLensCmd(), newInspectAttributionCmd(), newInspectPatchCmd(), newInspectSAECmd())
	return cmd
}
