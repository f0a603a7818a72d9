package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/alignlab/alignlab/target"
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
		return Dataset{}, fmt.Errorf("suite %s: %w", path, err)
	}
	if ds.Name == "" {
		ds.Name = filepath.Base(path)
	}
	return ds, nil
}

// Parse reads a suite from bytes; ext (".yaml", ".jsonl", ...) helps
// FormatAuto decide.
func Parse(data []byte, format, ext string) (Dataset, error) {
	if format == "" || format == FormatAuto {
		format = sniffFormat(data, ext)
	}
	var ds Dataset
	var err error
	switch format {
	case FormatYAML:
		ds, err = parseYAML(data)
	case FormatJSONL:
		ds, err = parseJSONL(data)
	case FormatSycophancyEval:
		ds, err = parseSycophancyEval(data)
	default:
		return Dataset{}, fmt.Errorf("unknown suite format %q (have auto, yaml, jsonl, sycophancy-eval)", format)
	}
	if err != nil {
		return Dataset{}, err
	}
	if len(ds.Samples) == 0 {
		return Dataset{}, errors.New("no samples")
	}
	seen := map[string]bool{}
	for i, s := range ds.Samples {
		if s.ID == "" {
			s.ID = fmt.Sprintf("s%05d", i)
			ds.Samples[i].ID = s.ID
		}
		if seen[s.ID] {
			return Dataset{}, fmt.Errorf("sample id %q appears twice", s.ID)
		}
		seen[s.ID] = true
		if s.Question() == "" {
			return Dataset{}, fmt.Errorf("sample %s has no user message", s.ID)
		}
		if s.Target == "" {
			return Dataset{}, fmt.Errorf("sample %s has no target (expected answer)", s.ID)
		}
	}
	return ds, nil
}

func sniffFormat(data []byte, ext string) string {
	switch strings.ToLower(ext) {
	case ".yaml", ".yml":
		return FormatYAML
	}
	line, _, _ := bytes.Cut(bytes.TrimSpace(data), []byte("\n"))
	var probe map[string]json.RawMessage
	if json.Unmarshal(line, &probe) == nil {
		if _, ok := probe["base"]; ok {
			if _, ok := probe["prompt"]; ok {
				return FormatSycophancyEval
			}
		}
		return FormatJSONL
	}
	return FormatYAML
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
func parseYAML(data []byte) (Dataset, error) {
	var doc struct {
		Name    string      `yaml:"name"`
		Scorer  string      `yaml:"scorer"`
		Samples []rawSample `yaml:"samples"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		var list []rawSample
		if err2 := yaml.Unmarshal(data, &list); err2 != nil {
			return Dataset{}, fmt.Errorf("parse YAML: %w", err)
		}
		doc.Samples = list
	}
	ds := Dataset{Name: doc.Name}
	for i, r := range doc.Samples {
		s, err := r.sample()
		if err != nil {
			return Dataset{}, fmt.Errorf("sample %d: %w", i+1, err)
		}
		if s.Scorer == "" {
			s.Scorer = doc.Scorer
		}
		ds.Samples = append(ds.Samples, s)
	}
	return ds, nil
}

// eachLine calls fn with each non-blank line and its 1-based number.
func eachLine(data []byte, fn func(n int, line []byte) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", n+1, err)
	}
	return nil
}

// parseJSONL reads inspect-style samples, one JSON object a line.
func parseJSONL(data []byte) (Dataset, error) {
	var ds Dataset
	err := eachLine(data, func(_ int, line []byte) error {
		var r rawSample
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("not a JSON object: %w", err)
		}
		s, err := r.sample()
		if err != nil {
			return err
		}
		ds.Samples = append(ds.Samples, s)
		return nil
	})
	return ds, err
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
func parseSycophancyEval(data []byte) (Dataset, error) {
	var ds Dataset
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
				s.ID = ds.Samples[i].ID
				ds.Samples[i] = s
			}
			return nil
		}
		index[q] = len(ds.Samples)
		ds.Samples = append(ds.Samples, s)
		return nil
	})
	if err != nil {
		return Dataset{}, err
	}
	return ds, nil
}
