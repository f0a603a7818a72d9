package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/tokenizer"
	"github.com/spf13/cobra"
)

func newTokenizerDecodeCmd() *cobra.Command {
	var (
		dir         string
		skipSpecial bool
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "decode --tokenizer DIR [ID...]",
		Short: "Print the text of token ids (the arguments, or standard input)",
		Long: `decode turns ids back into text: the arguments, or standard input when there are none, as ids
separated by spaces or commas, or as a JSON list. It writes the text exactly, with no newline added.`,
		Example: `  alignlab tokenizer decode --tokenizer tok/ 15496 995
  alignlab tokenizer encode --tokenizer tok/ "Hello" | alignlab tokenizer decode --tokenizer tok/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			tk, err := tokenizer.Load(dir)
			if err != nil {
				return err
			}
			text, err := argsOrStdin(cmd, args)
			if err != nil {
				return err
			}
			ids, err := parseIDs(text)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if id < 0 || int(id) >= tk.VocabSize() {
					return fmt.Errorf("id %d is outside the vocabulary (0..%d)", id, tk.VocabSize()-1)
				}
			}
			s := tk.Decode(ids)
			if skipSpecial {
				s = tk.DecodeSkipSpecial(ids)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"text": s, "ids": ids})
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), s)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "tokenizer", "", "model or tokenizer directory (tokenizer.json, tokenizer_config.json)")
	cmd.Flags().BoolVar(&skipSpecial, "skip-special", false, "leave special tokens out")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"text", "ids"} as JSON instead of the bare text`)
	_ = cmd.MarkFlagRequired("tokenizer")
	return cmd
}

// parseIDs reads ids separated by spaces or commas, or a JSON list.
func parseIDs(s string) ([]int32, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var ids []int32
		if err := json.Unmarshal([]byte(s), &ids); err != nil {
			return nil, fmt.Errorf("ids: %w", err)
		}
		return ids, nil
	}
	var ids []int32
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("id %q is not an integer", f)
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}
