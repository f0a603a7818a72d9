// Reading RL prompts from JSONL in TRL's formats.

package train

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

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
// Unreadable or empty rows, and prompts over maxLen tokens (0 = no limit),
// are skipped and reported by file:line. An error means the file could not
// be read, or no prompt was usable.
func ReadPrompts(path string, tok Tokenizer, maxLen int) ([][]int32, *DataReport, error) {
	var prompts [][]int32
	rep := &DataReport{}
	err := scanJSONL(path, func(line int, raw []byte) {
		rep.Rows++
		where := fmt.Sprintf("%s:%d", path, line)
		ids, why := promptIDs(raw, tok)
		switch {
		case why != "":
		case len(ids) == 0:
			why = "empty prompt"
		case maxLen > 0 && len(ids) > maxLen:
			why = fmt.Sprintf("%d tokens exceed --max-length %d", len(ids), maxLen)
		}
		if why != "" {
			rep.skip(where, why)
			return
		}
		prompts = append(prompts, ids)
	})
	if err == nil && len(prompts) == 0 {
		err = fmt.Errorf("%s: no usable prompt (%d rows skipped)", path, rep.SkippedTotal())
	}
	rep.Kept = len(prompts)
	return prompts, rep, err
}

// promptIDs tokenizes one row, or says why it cannot.
func promptIDs(raw []byte, tok Tokenizer) ([]int32, string) {
	if !utf8.Valid(raw) {
		return nil, "invalid UTF-8"
	}
	var row promptRow
	if err := json.Unmarshal(raw, &row); err != nil {
		return nil, "unreadable row: " + err.Error()
	}
	if row.InputIDs != nil {
		if msg := badTokenID(row.InputIDs, vocabOf(tok)); msg != "" {
			return nil, msg
		}
		return row.InputIDs, ""
	}
	if row.Prompt == nil {
		return nil, "unreadable row: needs input_ids or prompt"
	}
	if tok == nil {
		return nil, "unreadable row: text prompts need the model's tokenizer"
	}
	var s string
	var msgs []tokenizer.Message
	switch {
	case json.Unmarshal(row.Prompt, &s) == nil:
		return tok.Encode(s), ""
	case json.Unmarshal(row.Prompt, &msgs) == nil:
		// One rendering: the assistant mask is not needed here.
		text, err := tok.ApplyChatTemplate(msgs, true)
		if err != nil {
			return nil, "unreadable row: " + err.Error()
		}
		return tok.Encode(text), ""
	}
	return nil, "unreadable row: prompt is neither a string nor a list of messages"
}
