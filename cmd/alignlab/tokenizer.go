package main

import (
	"github.com/spf13/cobra"
)

func newTokenizerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokenizer",
		Short: "Train, encode and decode with byte-level BPE tokenizers (Hugging Face tokenizer.json)",
		Long: `tokenizer works with byte-level BPE tokenizers in Hugging Face format (GPT-2, Llama-3,
SmolLM, Qwen2 styles): 'tokenizer train' learns one from text files and writes tokenizer.json and
tokenizer_config.json that transformers' AutoTokenizer loads; 'tokenizer encode' and 'tokenizer
decode' use one from a model directory, chat formatting included.`,
	}
	cmd.AddCommand(newTokenizerTrainCmd(), newTokenizerEncodeCmd(), newTokenizerDecodeCmd())
	return cmd
}
