package probe

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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
func ParseExamples(r io.Reader, name string) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var out []Example
	var bad []string
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := parseExample(b, line, &out); err != nil {
			bad = append(bad, fmt.Sprintf("%s:%d: %v", name, line, err))
			if len(bad) == maxLineErrors {
				bad = append(bad, "(stopped after 10 bad lines)")
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(bad) > 0 {
		return nil, errors.New("malformed examples (want one {\"text\": \"...\", \"label\": 0 or 1} per line):\n  " + strings.Join(bad, "\n  "))
	}
	return out, nil
}

func parseExample(b []byte, line int, out *[]Example) error {
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
