package main

import (
	"errors"
	"fmt"

	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/internal/modeldir"
	"github.com/alignlab/alignlab/internal/outpath"
	"github.com/spf13/cobra"
)

func newExportHFCmd() *cobra.Command {
	var (
		dir, out string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "hf --model DIR --out DIR",
		Short: "Write a model as a Hugging Face checkpoint (transformers, TRL)",
		Long: `hf writes config.json, model.safetensors (float32, Hugging Face names), generation_config.json
and the tokenizer files, so that AutoModelForCausalLM.from_pretrained(DIR) loads the model.`,
		Example: `  alignlab export hf --model runs/sft/model --out hf-model`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" || out == "" {
				return &exitError{code: 2, err: errors.New("export hf: --model and --out are required")}
			}
			if err := outpath.Dir("--out", out, hf.SavedFiles, outpath.ModelDir(dir)...); err != nil {
				return &exitError{code: 2, err: err}
			}
			m, tok, err := modeldir.Load(dir)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := hf.Save(out, m, tok); err != nil {
				return &exitError{code: 2, err: err}
			}
			note := ""
			if tok == nil {
				note = " (no tokenizer.json in the source: none written)"
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"out": out, "tokenizer": tok != nil})
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "export hf: wrote %s%s\n", out, note)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "model directory (Hugging Face or alignlab checkpoint)")
	cmd.Flags().StringVar(&out, "out", "", "directory to write")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"out", "tokenizer"} as JSON on stdout`)
	return cmd
}
