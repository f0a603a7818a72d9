package main

import "github.com/spf13/cobra"

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a model in another ecosystem's format (GGUF for llama.cpp, Hugging Face)",
		Long: `export writes a local model (a Hugging Face directory or an alignlab checkpoint with its
tokenizer.json) for other tools: 'export gguf' for llama.cpp (Llama family, f32 or f16),
'export hf' as a Hugging Face checkpoint that transformers and TRL load.`,
	}
	cmd.AddCommand(newExportGGUFCmd(), newExportHFCmd())
	return cmd
}
