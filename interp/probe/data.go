package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/alignlab/alignlab/internal/textfile"
)

// Example is one labelled text for a probe: {"text": ..., "label": 0 or 1}.
type Example struct {
	Text  string `json:"text"`
	Label int    `json:"label"`
	// Line is the example's line in its file (1-based).
	Line int `json:"-"`
}

// maxLineErrors is how many bad lines ReadExamples lists before it stops.
const maxLineErrors = 10

// maxLineBytes bounds one line of an examples file.
const maxLineBytes = 16 << 20

// ReadExamples reads JSONL examples from path. Blank lines are skipped;
// every malformed line (bad JSON, missing text, a label other than 0 or 1)
// is reported as path:line, up to ten of them, in one error.
func ReadExamples(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read examples: %w", err)
	}
	defer f.Close()
	return ParseExamples(f, path)
}

// ParseExamples reads JSONL examples from r; name labels error positions.
// A leading byte order mark is skipped; a line over 16 MiB is an
// error naming it.
func ParseExamples(r io.Reader, name string) ([]Example, error) {
	sc := textfile.NewScanner(r, maxLineBytes)
	var out []Example
	var bad []string
	for sc.Scan() {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := parseExample(b, sc.Line(), &out); err != nil {
			bad = append(bad, fmt.Sprintf("%s:%d: %v", name, sc.Line(), err))
			if len(bad) == maxLineErrors {
				bad = append(bad, "(stopped after 10 bad lines)")
				break
			}
		}
	}
	if err := sc.FileErr(name); err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return nil, errors.New("malformed examples (want one {\"text\": \"...\", \"label\": 0 or 1} per line):\n  " + strings.Join(bad, "\n  "))
	}
	return out, nil
}

func parseExample(b []byte, line int, out *[]Example) error {
	// encoding/json would turn bad bytes into U+FFFD and the probe would
	// learn from text nobody wrote; the data audit rejects such rows too.
	if !utf8.Valid(b) {
		return errors.New("invalid UTF-8")
	}
	var raw struct {
		Text  *string          `json:"text"`
		Label *json.RawMessage `json:"label"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	if raw.Text == nil {
		return errors.New(`no "text"`)
	}
	if *raw.Text == "" {
		return errors.New(`empty "text"`)
	}
	if raw.Label == nil {
		return errors.New(`no "label"`)
	}
	var l int
	if err := json.Unmarshal(*raw.Label, &l); err != nil || (l != 0 && l != 1) {
		var bl bool
		if json.Unmarshal(*raw.Label, &bl) != nil {
			return fmt.Errorf(`"label" is %s; want 0 or 1`, string(*raw.Label))
		}
		l = 0
		if bl {
			l = 1
		}
	}
	*out = append(*out, Example{Text: *raw.Text, Label: l, Line: line})
	return nil
}
