package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/alignlab/alignlab/tokenizer"
	"github.com/spf13/cobra"
)

func newTokenizerEncodeCmd() *cobra.Command {
	var (
		dir                     string
		asJSON, addSpecial, ord bool
		chat, generationPrompt  bool
	)
	cmd := &cobra.Command{
		Use:   "encode --tokenizer DIR [TEXT...]",
		Short: "Print the token ids of a text (the arguments, or standard input)",
		Long: `encode tokenizes the arguments joined by spaces, or standard input when there are none, and
prints the ids on one line. Special tokens written in the text (<|im_end|>) become their ids unless
--ordinary. With --chat the input is a JSON list of {"role", "content"} messages, rendered with the
model's chat template; --json then also gives the assistant-token mask (the SFT loss mask).`,
		Example: `  alignlab tokenizer encode --tokenizer tok/ "Hello world"
  echo '[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]' | alignlab tokenizer encode --tokenizer tok/ --chat --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			tk, err := tokenizer.Load(dir)
			if err != nil {
				return err
			}
			text, err := argsOrStdin(cmd, args)
			if err != nil {
				return err
			}
			var ids []int32
			var mask []bool
			rendered := text
			switch {
			case chat:
				var msgs []tokenizer.Message
				if err := json.Unmarshal([]byte(text), &msgs); err != nil {
					return fmt.Errorf("--chat wants a JSON list of {\"role\", \"content\"} messages: %w", err)
				}
				if rendered, err = tk.ApplyChatTemplate(msgs, generationPrompt); err != nil {
					return err
				}
				if ids, mask, err = tk.EncodeChat(msgs, generationPrompt); err != nil {
					return err
				}
			case ord:
				ids = tk.EncodeOrdinary(text)
			case addSpecial:
				ids = tk.EncodeWithSpecialTokens(text)
			default:
				ids = tk.Encode(text)
			}
			out := cmd.OutOrStdout()
			if !asJSON {
				fmt.Fprintln(out, joinIDs(ids))
				return nil
			}
			toks := make([]string, len(ids))
			for i, id := range ids {
				toks[i], _ = tk.Token(id)
			}
			rep := map[string]any{"ids": ids, "tokens": toks}
			if chat {
				rep["text"] = rendered
				rep["assistant_mask"] = mask
			}
			enc := json.NewEncoder(out)
			enc.SetEscapeHTML(false)
			return enc.Encode(rep)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "tokenizer", "", "model or tokenizer directory (tokenizer.json, tokenizer_config.json)")
	fl.BoolVar(&asJSON, "json", false, `print {"ids", "tokens"} (and "text", "assistant_mask" with --chat) as JSON`)
	fl.BoolVar(&addSpecial, "add-special-tokens", false, "add the tokens the model puts around a sequence (Llama-3's <|begin_of_text|>)")
	fl.BoolVar(&ord, "ordinary", false, "encode special-token strings as plain text")
	fl.BoolVar(&chat, "chat", false, "input is a JSON list of messages; render it with the chat template")
	fl.BoolVar(&generationPrompt, "generation-prompt", false, "with --chat: end with the assistant's turn header")
	_ = cmd.MarkFlagRequired("tokenizer")
	return cmd
}

// argsOrStdin is the arguments joined by spaces, or all of standard input.
func argsOrStdin(cmd *cobra.Command, args []string) (string, error) {
	if len(args) > 0 {
		return strings.Join(args, " "), nil
	}
	data, err := io.ReadAll(cmd.InOrStdin())
	if err != nil {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	return string(data), nil
}

func joinIDs(ids []int32) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, id)
	}
	return b.String()
}
