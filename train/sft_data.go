// SFT data in TRL's dataset formats, read from JSONL (optionally gzipped):
//
//	{"messages": [{"role": ..., "content": ...}, ...]}   conversational: loss on assistant turns
//	{"text": "..."}                                      language modelling: loss on every token
//	{"prompt": ..., "completion": ...}                   loss on the completion (strings or messages)
//
// Rows that cannot be used are counted and reported as file:line; rows
// longer than max_length are truncated (as TRL does) and counted.

package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/alignlab/alignlab/tokenizer"
)

// SFTExample is one training sequence and the tokens its loss covers.
type SFTExample struct {
	Tokens []int32
	// Loss[i] says whether token i is predicted in the loss (from the
	// tokens before it). Loss[0] is never used: nothing predicts it.
	Loss   []bool
	Source string
	// Row is the JSON row as read, kept for --export-trl.
	Row json.RawMessage
}

// LossTokens counts the tokens the loss covers.
func (e SFTExample) LossTokens() int {
	n := 0
	for i, on := range e.Loss {
		if on && i > 0 {
			n++
		}
	}
	return n
}

// sftRow is one JSONL row in any of the formats.
type sftRow struct {
	Messages   []tokenizer.Message `json:"messages"`
	Text       *string             `json:"text"`
	Prompt     json.RawMessage     `json:"prompt"`
	Completion json.RawMessage     `json:"completion"`
}

// TokenizeSFT turns one row into an example: a conversation through the
// chat template with the assistant mask (assistantOnly false puts every
// token in the loss, TRL's default); text plus EOS with every token in the
// loss; prompt and completion with the completion (plus EOS) in the loss.
func TokenizeSFT(tok Tokenizer, raw []byte, assistantOnly bool) (SFTExample, error) {
	// encoding/json would train on U+FFFD in place of the bad bytes; the
	// preference readers and the data audit refuse such rows too.
	if !utf8.Valid(raw) {
		return SFTExample{}, errors.New("invalid UTF-8")
	}
	var row sftRow
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&row); err != nil {
		return SFTExample{}, fmt.Errorf("not a JSON object of messages, text or prompt/completion: %w", err)
	}
	eos, hasEOS := tok.EOS()
	switch {
	case row.Messages != nil:
		return chatExample(tok, row.Messages, nil, assistantOnly)
	case row.Text != nil:
		if strings.TrimSpace(*row.Text) == "" {
			return SFTExample{}, errors.New("empty text")
		}
		ids := tok.Encode(*row.Text)
		if hasEOS {
			ids = append(ids, eos)
		}
		return SFTExample{Tokens: ids, Loss: allTrue(len(ids))}, nil
	case row.Prompt != nil && row.Completion != nil:
		var ps, cs string
		if json.Unmarshal(row.Prompt, &ps) == nil && json.Unmarshal(row.Completion, &cs) == nil {
			if strings.TrimSpace(cs) == "" {
				return SFTExample{}, errors.New("empty completion")
			}
			p, c := tok.Encode(ps), tok.Encode(cs)
			if hasEOS {
				c = append(c, eos)
			}
			ex := SFTExample{Tokens: append(p, c...), Loss: make([]bool, len(p)+len(c))}
			for i := len(p); i < len(ex.Loss); i++ {
				ex.Loss[i] = true
			}
			return ex, nil
		}
		var pm, cm []tokenizer.Message
		if err := json.Unmarshal(row.Prompt, &pm); err != nil {
			return SFTExample{}, fmt.Errorf("prompt: want a string or a list of messages: %w", err)
		}
		if err := json.Unmarshal(row.Completion, &cm); err != nil {
			return SFTExample{}, fmt.Errorf("completion: want a string or a list of messages: %w", err)
		}
		return chatExample(tok, pm, cm, assistantOnly)
	}
	return SFTExample{}, errors.New(`the row has none of "messages", "text" or "prompt"/"completion"`)
}

// chatExample renders one conversation, or a prompt and its completion,
// through the chat template. A conversation's loss is on its assistant
// turns (every token when assistantOnly is false). A completion's loss is
// on what the completion adds to the prompt rendered with its generation
// prompt, as TRL's completion-only loss has it (and only on its assistant
// tokens when assistantOnly): assistant turns inside the prompt are
// context, not targets.
func chatExample(tok Tokenizer, msgs, completion []tokenizer.Message, assistantOnly bool) (SFTExample, error) {
	all := append(append([]tokenizer.Message(nil), msgs...), completion...)
	if len(all) == 0 {
		return SFTExample{}, errors.New("empty conversation")
	}
	targets := all
	if completion != nil {
		targets = completion
	}
	hasAssistant := false
	for _, m := range targets {
		hasAssistant = hasAssistant || (m.Role == "assistant" && strings.TrimSpace(m.Content) != "")
	}
	if !hasAssistant && (assistantOnly || completion != nil) {
		return SFTExample{}, errors.New("empty response: no assistant turn with content, so no token to train on")
	}
	ids, mask, err := tok.EncodeChat(all, false)
	if err != nil {
		return SFTExample{}, err
	}
	if completion == nil {
		if !assistantOnly {
			mask = allTrue(len(ids))
		}
		return SFTExample{Tokens: ids, Loss: mask}, nil
	}
	text, err := tok.ApplyChatTemplate(msgs, true)
	if err != nil {
		return SFTExample{}, fmt.Errorf("prompt: %w", err)
	}
	prompt := tok.Encode(text)
	if len(prompt) >= len(ids) || !slices.Equal(prompt, ids[:len(prompt)]) {
		return SFTExample{}, errors.New("the chat template renders the prompt with its generation prompt differently from the start of prompt+completion, so the completion cannot be told apart")
	}
	loss := make([]bool, len(ids))
	for i := len(prompt); i < len(ids); i++ {
		loss[i] = !assistantOnly || mask[i]
	}
	return SFTExample{Tokens: ids, Loss: loss}, nil
}

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

// ReadSFTExamples reads JSONL files (".gz" decompressed) of SFT rows,
// truncating rows to maxLength tokens (0 = no limit) and skipping rows that
// cannot be used or keep no loss token; both are reported by file:line.
func ReadSFTExamples(files []string, tok Tokenizer, maxLength int, assistantOnly bool) ([]SFTExample, *DataReport, error) {
	rep := &DataReport{}
	var out []SFTExample
	for _, file := range files {
		err := eachLine(file, func(line int, raw []byte) {
			if len(bytes.TrimSpace(raw)) == 0 {
				return
			}
			rep.Rows++
			where := fmt.Sprintf("%s:%d", file, line)
			ex, err := TokenizeSFT(tok, raw, assistantOnly)
			if err != nil {
				rep.skip(where, err.Error())
				return
			}
			ex.Source, ex.Row = where, append(json.RawMessage(nil), raw...)
			if maxLength > 0 && len(ex.Tokens) > maxLength {
				rep.Truncated++
				rep.note(where, fmt.Sprintf("%d tokens truncated to --max-length %d", len(ex.Tokens), maxLength))
				ex.Tokens, ex.Loss = ex.Tokens[:maxLength], ex.Loss[:maxLength]
			}
			if ex.LossTokens() == 0 {
				rep.skip(where, "empty response: no token left to train on")
				return
			}
			out = append(out, ex)
		})
		if err != nil {
			return nil, rep, err
		}
	}
	rep.Kept = len(out)
	return out, rep, nil
}
