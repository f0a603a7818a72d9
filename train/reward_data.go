// Reading preference pairs for the reward model: text and conversational
// files in any format the prefs readers know go through ReadPrefPairs (the
// DPO family's loader, so both tokenize alike); TRL's pretokenized files
// (input_ids_chosen / input_ids_rejected, optional margin) are read here.
// Unusable rows are counted, reported as file:line and skipped.

package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"unicode/utf8"

	"github.com/alignlab/alignlab/internal/textfile"
	"github.com/alignlab/alignlab/prefs"
)

// pretokenizedRow is one line of a pretokenized preference file.
type pretokenizedRow struct {
	InputIDsChosen   []int32 `json:"input_ids_chosen"`
	InputIDsRejected []int32 `json:"input_ids_rejected"`
	Margin           float32 `json:"margin"`
}

// ReadRewardPairs reads preference files into whole sequences (prompt then
// completion) for a reward model. A file whose first row has
// input_ids_chosen is read as pretokenized JSONL; any other goes through
// ReadPrefPairs with tok. Rows that are unreadable, empty, have chosen
// equal to rejected, or exceed maxLen tokens (0 = no limit) are skipped and
// reported. An error means a file could not be read at all.
func ReadRewardPairs(ctx context.Context, files []string, tok Tokenizer, maxLen int) ([]PreferencePair, *DataReport, error) {
	var out []PreferencePair
	rep := &DataReport{}
	for _, f := range files {
		pre, err := isPretokenized(f)
		if err != nil {
			return nil, rep, err
		}
		if pre {
			if out, err = readPretokenized(f, maxLen, vocabOf(tok), out, rep); err != nil {
				return nil, rep, err
			}
			continue
		}
		if tok == nil {
			return nil, rep, fmt.Errorf("%s holds text: it needs the model's tokenizer (tokenizer.json beside the model)", f)
		}
		pairs, r, err := ReadPrefPairs(ctx, []string{f}, tok, maxLen, prefs.ReadOptions{})
		if err != nil {
			return nil, rep, err
		}
		merge(rep, r)
		for _, p := range pairs {
			out = append(out, PreferencePair{
				Chosen:   append(append([]int32{}, p.Prompt...), p.Chosen...),
				Rejected: append(append([]int32{}, p.Prompt...), p.Rejected...),
			})
		}
	}
	rep.Kept = len(out)
	return out, rep, nil
}

// isPretokenized reports whether the file's first non-blank line has
// input_ids_chosen.
func isPretokenized(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := textfile.NewScanner(f, maxDataLine)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var probe map[string]json.RawMessage
		if json.Unmarshal(line, &probe) != nil {
			return false, nil
		}
		_, ok := probe["input_ids_chosen"]
		return ok, nil
	}
	return false, sc.FileErr(path)
}

// readPretokenized appends the usable rows of a pretokenized file to out.
func readPretokenized(path string, maxLen, vocab int, out []PreferencePair, rep *DataReport) ([]PreferencePair, error) {
	err := scanJSONL(path, func(line int, raw []byte) {
		rep.Rows++
		where := fmt.Sprintf("%s:%d", path, line)
		if !utf8.Valid(raw) {
			rep.skip(where, "invalid UTF-8")
			return
		}
		var row pretokenizedRow
		if err := json.Unmarshal(raw, &row); err != nil {
			rep.skip(where, "unreadable row: "+err.Error())
			return
		}
		p := PreferencePair{Chosen: row.InputIDsChosen, Rejected: row.InputIDsRejected, Margin: row.Margin}
		if _, dropped := FilterPairs([]PreferencePair{p}, maxLen); len(dropped) > 0 {
			rep.skip(where, dropped[0][len("pair 0: "):])
			return
		}
		for _, ids := range [][]int32{p.Chosen, p.Rejected} {
			if msg := badTokenID(ids, vocab); msg != "" {
				rep.skip(where, msg)
				return
			}
		}
		out = append(out, p)
	})
	return out, err
}

// merge adds r's counts and problems to rep.
func merge(rep, r *DataReport) {
	rep.Rows += r.Rows
	rep.Truncated += r.Truncated
	for k, n := range r.Skipped {
		if rep.Skipped == nil {
			rep.Skipped = map[string]int{}
		}
		rep.Skipped[k] += n
	}
	for _, p := range r.Problems {
		if len(rep.Problems) < MaxProblems {
			rep.Problems = append(rep.Problems, p)
		}
	}
}

// vocabOf is tok's vocabulary size when it has one to tell (0: unknown),
// for checking pretokenized ids as they are read.
func vocabOf(tok Tokenizer) int {
	if v, ok := tok.(interface{ VocabSize() int }); ok {
		return v.VocabSize()
	}
	return 0
}

// badTokenID says what is wrong with the first id of ids outside
// [0, vocab) (vocab 0: only negatives are caught), or "" when none is: a
// bad id found while reading is reported by file:line, not as a failed
// step hours later.
func badTokenID(ids []int32, vocab int) string {
	for i, id := range ids {
		if id < 0 || (vocab > 0 && int(id) >= vocab) {
			if vocab > 0 {
				return fmt.Sprintf("token id %d at index %d is outside the vocabulary [0, %d)", id, i, vocab)
			}
			return fmt.Sprintf("token id %d at index %d is negative", id, i)
		}
	}
	return ""
}
