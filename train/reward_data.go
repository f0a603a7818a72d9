// Reading preference pairs from JSONL in TRL's formats, for the reward
// model: pretokenized (input_ids_chosen / input_ids_rejected), standard
// text (prompt / chosen / rejected) or conversational (lists of {role,
// content} messages). Bad lines are counted, reported by line and skipped.

package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/alignlab/alignlab/tokenizer"
)

// prefRow is one line of a preference file in any of TRL's formats.
type prefRow struct {
	InputIDsChosen   []int32         `json:"input_ids_chosen"`
	InputIDsRejected []int32         `json:"input_ids_rejected"`
	Margin           float32         `json:"margin"`
	Prompt           json.RawMessage `json:"prompt"`
	Chosen           json.RawMessage `json:"chosen"`
	Rejected         json.RawMessage `json:"rejected"`
}

// ReadReport lists the lines a reader skipped and why.
type ReadReport struct {
	Read    int      `json:"read"`
	Kept    int      `json:"kept"`
	Skipped []string `json:"skipped,omitempty"` // "line N: reason"
}

// ReadPreferencePairs reads a JSONL preference file. Text and
// conversational rows need tok (nil is fine for pretokenized files); text
// completions get the tokenizer's EOS appended, as TRL does. Rows that are
// malformed, empty, have chosen equal to rejected, or exceed maxLen tokens
// (0 = no limit) are skipped and listed in the report; an unreadable file
// or one with no usable row is an error.
func ReadPreferencePairs(path string, tok *tokenizer.Tokenizer, maxLen int) ([]PreferencePair, ReadReport, error) {
	var pairs []PreferencePair
	rep, err := scanJSONL(path, func(line []byte) (string, error) {
		var row prefRow
		if err := json.Unmarshal(line, &row); err != nil {
			return "", fmt.Errorf("not a JSON object: %w", err)
		}
		p := PreferencePair{Chosen: row.InputIDsChosen, Rejected: row.InputIDsRejected, Margin: row.Margin}
		if p.Chosen == nil && p.Rejected == nil {
			var err error
			if p.Chosen, p.Rejected, err = encodePair(row, tok); err != nil {
				return "", err
			}
		}
		kept, dropped := FilterPairs([]PreferencePair{p}, maxLen)
		if len(dropped) > 0 {
			return dropped[0][len("pair 0: "):], nil
		}
		pairs = append(pairs, kept[0])
		return "", nil
	})
	if err == nil && len(pairs) == 0 {
		err = fmt.Errorf("%s: no usable preference pair (%d lines skipped)", path, len(rep.Skipped))
	}
	rep.Kept = len(pairs)
	return pairs, rep, err
}

// encodePair tokenizes a standard or conversational row.
func encodePair(row prefRow, tok *tokenizer.Tokenizer) (chosen, rejected []int32, err error) {
	if row.Chosen == nil || row.Rejected == nil {
		return nil, nil, errors.New("needs chosen and rejected (or input_ids_chosen and input_ids_rejected)")
	}
	if tok == nil {
		return nil, nil, errors.New("text rows need a tokenizer (--tokenizer)")
	}
	var ps, cs, rs string
	cStr, rStr := json.Unmarshal(row.Chosen, &cs) == nil, json.Unmarshal(row.Rejected, &rs) == nil
	if cStr != rStr {
		return nil, nil, errors.New("chosen and rejected must both be strings or both lists of {role, content} messages")
	}
	if cStr {
		if row.Prompt != nil {
			if err := json.Unmarshal(row.Prompt, &ps); err != nil {
				return nil, nil, errors.New("prompt is not a string while chosen and rejected are")
			}
		}
		prompt := tok.Encode(ps)
		eos, hasEOS := tok.EOS()
		enc := func(s string) []int32 {
			ids := append(append([]int32{}, prompt...), tok.Encode(s)...)
			if hasEOS {
				ids = append(ids, eos)
			}
			return ids
		}
		if cs == "" || rs == "" {
			return nil, nil, errors.New("empty response")
		}
		return enc(cs), enc(rs), nil
	}
	var pm, cm, rm []tokenizer.Message
	if row.Prompt != nil {
		if err := json.Unmarshal(row.Prompt, &pm); err != nil {
			return nil, nil, errors.New("prompt is neither a string nor a list of messages")
		}
	}
	if json.Unmarshal(row.Chosen, &cm) != nil || json.Unmarshal(row.Rejected, &rm) != nil {
		return nil, nil, errors.New("chosen and rejected must both be strings or both lists of {role, content} messages")
	}
	if len(cm) == 0 || len(rm) == 0 {
		return nil, nil, errors.New("empty response")
	}
	if chosen, _, err = tok.EncodeChat(append(append([]tokenizer.Message{}, pm...), cm...), false); err != nil {
		return nil, nil, err
	}
	if rejected, _, err = tok.EncodeChat(append(append([]tokenizer.Message{}, pm...), rm...), false); err != nil {
		return nil, nil, err
	}
	return chosen, rejected, nil
}

// scanJSONL calls row on each non-blank line; a returned reason or error
// skips the line and is recorded with its number.
func scanJSONL(path string, row func(line []byte) (skip string, err error)) (ReadReport, error) {
	var rep ReadReport
	f, err := os.Open(path)
	if err != nil {
		return rep, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rep.Read++
		skip, err := row(line)
		if err != nil {
			skip = err.Error()
		}
		if skip != "" {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("line %d: %s", n, skip))
		}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("read %s: %w", path, err)
	}
	return rep, nil
}
