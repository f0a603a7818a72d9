// Reading RL prompts from JSONL in TRL's formats.

package train

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/alignlab/alignlab/tokenizer"
)

// promptRow is one line of a prompt file.
type promptRow struct {
	InputIDs []int32         `json:"input_ids"`
	Prompt   json.RawMessage `json:"prompt"`
}

// ReadPrompts reads a JSONL file of prompts for PPO, RLOO or GRPO: each
// row has input_ids, or a prompt that is a string (encoded as is) or a list
// of messages (rendered with the chat template and the generation prompt).
// Malformed or empty rows, and prompts over maxLen tokens (0 = no limit),
// are skipped and reported.
func ReadPrompts(path string, tok *tokenizer.Tokenizer, maxLen int) ([][]int32, ReadReport, error) {
	var prompts [][]int32
	rep, err := scanJSONL(path, func(line []byte) (string, error) {
		var row promptRow
		if err := json.Unmarshal(line, &row); err != nil {
			return "", fmt.Errorf("not a JSON object: %w", err)
		}
		ids := row.InputIDs
		if ids == nil {
			if row.Prompt == nil {
				return "", errors.New("needs input_ids or prompt")
			}
			if tok == nil {
				return "", errors.New("text prompts need a tokenizer (--tokenizer)")
			}
			var s string
			var msgs []tokenizer.Message
			switch {
			case json.Unmarshal(row.Prompt, &s) == nil:
				ids = tok.Encode(s)
			case json.Unmarshal(row.Prompt, &msgs) == nil:
				var err error
				if ids, _, err = tok.EncodeChat(msgs, true); err != nil {
					return "", err
				}
			default:
				return "", errors.New("prompt is neither a string nor a list of messages")
			}
		}
		switch {
		case len(ids) == 0:
			return "empty prompt", nil
		case maxLen > 0 && len(ids) > maxLen:
			return fmt.Sprintf("%d tokens exceed the limit of %d", len(ids), maxLen), nil
		}
		prompts = append(prompts, ids)
		return "", nil
	})
	if err == nil && len(prompts) == 0 {
		err = fmt.Errorf("%s: no usable prompt (%d lines skipped)", path, len(rep.Skipped))
	}
	rep.Kept = len(prompts)
	return prompts, rep, err
}
