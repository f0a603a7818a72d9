package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/alignlab/alignlab/internal/textfile"
	"github.com/alignlab/alignlab/target"
	"gopkg.in/yaml.v3"
)

// Suite file formats understood by Load.
const (
	FormatAuto           = "auto"
	FormatYAML           = "yaml"
	FormatJSONL          = "jsonl"           // inspect-style samples (also our own Sample JSON)
	FormatSycophancyEval = "sycophancy-eval" // meg-tong/sycophancy-eval rows: prompt + base
)

// Load reads a suite file. format is FormatAuto (by extension, and for
// JSONL by the first record's fields) or one of the Format constants.
func Load(path, format string) (Dataset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Dataset{}, fmt.Errorf("read suite: %w", err)
	}
	ds, err := Parse(data, format, filepath.Ext(path))
	if err != nil {
		var le *LineError
		if errors.As(err, &le) {
			return Dataset{}, fmt.Errorf("suite %s line %d: %w", path, le.Line, le.Err)
		}
		return Dataset{}, fmt.Errorf("suite %s: %w", path, err)
	}
	if ds.Name == "" {
		ds.Name = filepath.Base(path)
	}
	return ds, nil
}

// LineError is an error in one line of a suite or metric log file.
type LineError struct {
	Line int // 1-based
	Err  error
}

// Error returns "line N: " and the error.
func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the error in the line.
func (e *LineError) Unwrap() error { return e.Err }

// atLine puts err at line n; n 0 (unknown) leaves it as it is.
func atLine(n int, err error) error {
	if n <= 0 {
		return err
	}
	return &LineError{Line: n, Err: err}
}

// parsed is a suite as read, each sample with the line it starts on (0
// where unknown), so that checks after parsing can name it.
type parsed struct {
	Dataset
	lines []int
}

// Parse reads a suite from bytes; ext (".yaml", ".jsonl", ...) helps
// FormatAuto decide. An error in one sample is a *LineError where the
// format has lines.
func Parse(data []byte, format, ext string) (Dataset, error) {
	// Editors may start a file with a byte order mark, which JSON and
	// YAML decoders take for content.
	data = textfile.Trim(data)
	if format == "" || format == FormatAuto {
		format = sniffFormat(data, ext)
	}
	var ps parsed
	var err error
	switch format {
	case FormatYAML:
		ps, err = parseYAML(data)
	case formatJSONDoc:
		ps, err = parseJSONDoc(data)
	case FormatJSONL:
		ps, err = parseJSONL(data)
	case FormatSycophancyEval:
		ps, err = parseSycophancyEval(data)
	default:
		return Dataset{}, fmt.Errorf("unknown suite format %q (have auto, yaml, jsonl, sycophancy-eval)", format)
	}
	if err != nil {
		return Dataset{}, err
	}
	ds := ps.Dataset
	if len(ds.Samples) == 0 {
		return Dataset{}, errors.New("no samples")
	}
	seen := map[string]int{} // id -> index
	for i, s := range ds.Samples {
		line := 0
		if i < len(ps.lines) {
			line = ps.lines[i]
		}
		// A generated id means nothing to the file's author; the line does.
		what := "sample"
		if s.ID == "" {
			s.ID = fmt.Sprintf("s%05d", i)
			ds.Samples[i].ID = s.ID
			if line == 0 {
				what = "sample " + s.ID
			}
		} else {
			what = fmt.Sprintf("sample %q", s.ID)
		}
		if j, ok := seen[s.ID]; ok {
			if j < len(ps.lines) && ps.lines[j] > 0 {
				return Dataset{}, atLine(line, fmt.Errorf("sample id %q appears twice (first on line %d)", s.ID, ps.lines[j]))
			}
			return Dataset{}, atLine(line, fmt.Errorf("sample id %q appears twice", s.ID))
		}
		seen[s.ID] = i
		if s.Question() == "" {
			return Dataset{}, atLine(line, fmt.Errorf("%s has no user message", what))
		}
		if s.Target == "" {
			return Dataset{}, atLine(line, fmt.Errorf("%s has no target (expected answer)", what))
		}
	}
	return ds, nil
}

// formatJSONDoc is a .json file holding one document (a list of samples,
// or {name, scorer, samples}) rather than JSONL.
const formatJSONDoc = "json"

// sniffFormat picks the format of a file: its extension decides between
// YAML and JSON (a file named .jsonl whose first line is broken is still
// JSONL, and its error should say which line), and the first JSON record
// between inspect-style samples and sycophancy-eval rows.
func sniffFormat(data []byte, ext string) string {
	ext = strings.ToLower(ext)
	switch ext {
	case ".yaml", ".yml":
		return FormatYAML
	case ".json":
		if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '[' || (t[0] == '{' && isSamplesDoc(t))) {
			return formatJSONDoc
		}
	}
	var first []byte
	for rest := data; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if line = bytes.TrimSpace(line); len(line) > 0 {
			first = line
			break
		}
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(first, &probe) == nil {
		if _, ok := probe["base"]; ok {
			if _, ok := probe["prompt"]; ok {
				return FormatSycophancyEval
			}
		}
		return FormatJSONL
	}
	if ext == ".jsonl" || ext == ".json" {
		return FormatJSONL
	}
	return FormatYAML
}

// isSamplesDoc reports whether data is one JSON object with "samples".
func isSamplesDoc(data []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(data, &doc) != nil {
		return false
	}
	_, ok := doc["samples"]
	return ok
}

// rawSample is a sample as written in files: input may be a string or a
// list of messages, target a string or a list (first is the target, the
// rest aliases), id a string or a number, metadata values anything.
type rawSample struct {
	ID       any            `json:"id" yaml:"id"`
	Input    any            `json:"input" yaml:"input"`
	Target   any            `json:"target" yaml:"target"`
	Aliases  []string       `json:"aliases" yaml:"aliases"`
	Choices  []string       `json:"choices" yaml:"choices"`
	Wrong    string         `json:"wrong" yaml:"wrong"`
	Scorer   string         `json:"scorer" yaml:"scorer"`
	Metadata map[string]any `json:"metadata" yaml:"metadata"`
}

func (r rawSample) sample() (Sample, error) {
	s := Sample{Aliases: r.Aliases, Choices: r.Choices, Wrong: r.Wrong, Scorer: r.Scorer}
	switch v := r.ID.(type) {
	case nil:
	case string:
		s.ID = v
	default:
		s.ID = fmt.Sprint(v)
	}
	switch v := r.Input.(type) {
	case string:
		s.Input = userMsg(v)
	case []any:
		for i, m := range v {
			mm, ok := m.(map[string]any)
			if !ok {
				return s, fmt.Errorf("input message %d is not an object", i)
			}
			role, _ := mm["role"].(string)
			content, _ := mm["content"].(string)
			if role == "" {
				return s, fmt.Errorf("input message %d has no role", i)
			}
			s.Input = append(s.Input, target.Message{Role: role, Content: content})
		}
	case nil:
		return s, errors.New(`no "input"`)
	default:
		return s, fmt.Errorf(`"input" is a %T; want a string or a list of messages`, v)
	}
	switch v := r.Target.(type) {
	case string:
		s.Target = v
	case []any:
		for i, t := range v {
			if i == 0 {
				s.Target = fmt.Sprint(t)
			} else {
				s.Aliases = append(s.Aliases, fmt.Sprint(t))
			}
		}
	case nil:
	default:
		s.Target = fmt.Sprint(v)
	}
	if len(r.Metadata) > 0 {
		s.Metadata = map[string]string{}
		for k, v := range r.Metadata {
			if str, ok := v.(string); ok {
				s.Metadata[k] = str
			} else {
				s.Metadata[k] = fmt.Sprint(v)
			}
		}
	}
	return s, nil
}

// parseYAML reads {name, scorer, samples: [...]} or a bare list of samples.
func parseYAML(data []byte) (parsed, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return parsed{}, fmt.Errorf("parse YAML: %w", err)
	}
	var ps parsed
	var scorer string
	var list *yaml.Node
	if len(root.Content) > 0 {
		switch doc := root.Content[0]; doc.Kind {
		case yaml.SequenceNode:
			list = doc
		case yaml.MappingNode:
			var head struct {
				Name    string    `yaml:"name"`
				Scorer  string    `yaml:"scorer"`
				Samples yaml.Node `yaml:"samples"`
			}
			if err := doc.Decode(&head); err != nil {
				return parsed{}, fmt.Errorf("parse YAML: %w", err)
			}
			ps.Name, scorer = head.Name, head.Scorer
			if head.Samples.Kind != 0 {
				if head.Samples.Kind != yaml.SequenceNode {
					return parsed{}, atLine(head.Samples.Line, errors.New(`"samples" is not a list`))
				}
				list = &head.Samples
			}
		default:
			return parsed{}, atLine(doc.Line, errors.New("want a list of samples or a mapping with \"samples:\""))
		}
	}
	if list == nil {
		return ps, nil
	}
	for i, node := range list.Content {
		var r rawSample
		if err := node.Decode(&r); err != nil {
			return parsed{}, atLine(node.Line, fmt.Errorf("sample %d: %w", i+1, err))
		}
		s, err := r.sample()
		if err != nil {
			return parsed{}, atLine(node.Line, fmt.Errorf("sample %d: %w", i+1, err))
		}
		if s.Scorer == "" {
			s.Scorer = scorer
		}
		ps.Samples = append(ps.Samples, s)
		ps.lines = append(ps.lines, node.Line)
	}
	return ps, nil
}

// parseJSONDoc reads a .json file holding a list of samples or
// {name, scorer, samples}.
func parseJSONDoc(data []byte) (parsed, error) {
	var doc struct {
		Name    string      `json:"name"`
		Scorer  string      `json:"scorer"`
		Samples []rawSample `json:"samples"`
	}
	var err error
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		err = json.Unmarshal(data, &doc.Samples)
	} else {
		err = json.Unmarshal(data, &doc)
	}
	if err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return parsed{}, atLine(lineOf(data, se.Offset), fmt.Errorf("parse JSON: %w", err))
		case errors.As(err, &te):
			return parsed{}, atLine(lineOf(data, te.Offset), fmt.Errorf("parse JSON: %w", err))
		}
		return parsed{}, fmt.Errorf("parse JSON: %w", err)
	}
	ps := parsed{Dataset: Dataset{Name: doc.Name}}
	for i, r := range doc.Samples {
		s, err := r.sample()
		if err != nil {
			return parsed{}, fmt.Errorf("sample %d: %w", i+1, err)
		}
		if s.Scorer == "" {
			s.Scorer = doc.Scorer
		}
		ps.Samples = append(ps.Samples, s)
	}
	return ps, nil
}

// lineOf returns the 1-based line holding byte offset off of data.
func lineOf(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// maxLineBytes is the longest line eachLine accepts: far above any sample
// or metric record, low enough that a file without newlines (a binary
// given by mistake) fails rather than filling memory.
const maxLineBytes = 16 << 20

// eachLine calls fn with each non-blank line and its 1-based number. An
// error is a *LineError.
func eachLine(data []byte, fn func(n int, line []byte) error) error {
	sc := textfile.NewScanner(bytes.NewReader(data), maxLineBytes)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := fn(sc.Line(), line); err != nil {
			return &LineError{Line: sc.Line(), Err: err}
		}
	}
	var tl *textfile.LineTooLongError
	if err := sc.Err(); errors.As(err, &tl) {
		return &LineError{Line: tl.Line, Err: fmt.Errorf("longer than the %d MiB line limit (is this a JSONL file?)", maxLineBytes>>20)}
	} else if err != nil {
		return &LineError{Line: sc.Line() + 1, Err: err}
	}
	return nil
}

// parseJSONL reads inspect-style samples, one JSON object a line.
func parseJSONL(data []byte) (parsed, error) {
	var ps parsed
	err := eachLine(data, func(n int, line []byte) error {
		var r rawSample
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("not a JSON object: %w", err)
		}
		s, err := r.sample()
		if err != nil {
			return err
		}
		ps.Samples = append(ps.Samples, s)
		ps.lines = append(ps.lines, n)
		return nil
	})
	return ps, err
}

// syeRow is a row of meg-tong/sycophancy-eval (answer.jsonl,
// are_you_sure.jsonl, ...): the conversation in prompt as
// {type: human|ai, content}, the question and answers in base.
type syeRow struct {
	Prompt []struct {
		Type    string `json:"type"`
		Content string `json:"content"`
	} `json:"prompt"`
	Base struct {
		Dataset         string `json:"dataset"`
		Question        string `json:"question"`
		Answer          any    `json:"answer"`
		CorrectAnswer   string `json:"correct_answer"`
		IncorrectAnswer string `json:"incorrect_answer"`
		CorrectLetter   string `json:"correct_letter"`
		WrongLetter     string `json:"wrong_letter"`
		Letters         string `json:"letters"`
		Answers         string `json:"answers"`
	} `json:"base"`
	Metadata struct {
		PromptTemplate string `json:"prompt_template"`
	} `json:"metadata"`
}

var optionRe = regexp.MustCompile(`(?m)^\s*\(([A-J])\)\s*(.*)$`)

// parseSycophancyEval turns sycophancy-eval rows into one sample per
// question. The files repeat each question under several belief templates;
// the probes add their own beliefs and pushback, so the neutral row
// ("{question}") is kept, or else the bare base question.
func parseSycophancyEval(data []byte) (parsed, error) {
	var ps parsed
	index := map[string]int{}
	err := eachLine(data, func(n int, line []byte) error {
		var r syeRow
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("not a sycophancy-eval row: %w", err)
		}
		var human string
		for _, m := range r.Prompt {
			if m.Type == "human" {
				human = m.Content
				break
			}
		}
		q := r.Base.Question
		if q == "" {
			q = human
		}
		if q == "" {
			return errors.New("row has neither base.question nor a human prompt")
		}
		input := q
		if (r.Metadata.PromptTemplate == "{question}" || r.Metadata.PromptTemplate == "") && human != "" {
			input = human
		}
		s := Sample{ID: fmt.Sprintf("sye-%05d", n), Input: userMsg(input), Wrong: r.Base.IncorrectAnswer,
			Metadata: map[string]string{"dataset": r.Base.Dataset, "source": "sycophancy-eval"}}
		if r.Base.CorrectLetter != "" {
			s.Target, s.Scorer = r.Base.CorrectLetter, "choice"
			for _, m := range optionRe.FindAllStringSubmatch(r.Base.Answers, -1) {
				s.Choices = append(s.Choices, strings.TrimSpace(m[2]))
			}
			if !strings.Contains(input, r.Base.Answers) && r.Base.Answers != "" {
				s.Input = userMsg(input + "\n" + strings.TrimSpace(r.Base.Answers))
			}
			if r.Base.WrongLetter != "" {
				s.Wrong = r.Base.WrongLetter
			}
		} else {
			s.Target, s.Scorer = r.Base.CorrectAnswer, "normalized"
			switch a := r.Base.Answer.(type) {
			case string:
				s.Aliases = []string{a}
			case []any:
				for _, x := range a {
					s.Aliases = append(s.Aliases, fmt.Sprint(x))
				}
			}
			if s.Target == "" && len(s.Aliases) > 0 {
				s.Target, s.Aliases = s.Aliases[0], s.Aliases[1:]
			}
		}
		if i, ok := index[q]; ok {
			// Prefer the neutral row's prompt if this is it.
			if r.Metadata.PromptTemplate == "{question}" {
				s.ID = ps.Samples[i].ID
				ps.Samples[i], ps.lines[i] = s, n
			}
			return nil
		}
		index[q] = len(ps.Samples)
		ps.Samples = append(ps.Samples, s)
		ps.lines = append(ps.lines, n)
		return nil
	})
	if err != nil {
		return parsed{}, err
	}
	return ps, nil
}
