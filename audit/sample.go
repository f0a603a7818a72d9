package audit

import (
	"github.com/alignlab/alignlab/target"
)

// Sample is one question with a verifiable answer (inspect_ai's Sample).
type Sample struct {
	// ID is unique within its dataset.
	ID string `json:"id" yaml:"id"`
	// Input is the conversation to send; its last user message is "the
	// question" that probes reframe and perturb.
	Input []target.Message `json:"input" yaml:"input"`
	// Target is the expected answer; Aliases are other accepted forms.
	Target  string   `json:"target" yaml:"target"`
	Aliases []string `json:"aliases,omitempty" yaml:"aliases"`
	// Choices are the options of a multiple-choice sample (A, B, ...).
	Choices []string `json:"choices,omitempty" yaml:"choices"`
	// Wrong is a plausible wrong answer, for the sycophancy probe's stated
	// belief and pushback; empty when unknown.
	Wrong string `json:"wrong,omitempty" yaml:"wrong"`
	// Scorer names how answers are judged (see ScorerByName); empty means
	// the dataset default.
	Scorer string `json:"scorer,omitempty" yaml:"scorer"`
	// Metadata holds attributes: domain, rarity, and the probes' own
	// labels (frame, template, slice).
	Metadata map[string]string `json:"metadata,omitempty" yaml:"metadata"`
}

// Question returns the content of the last user message.
func (s Sample) Question() string {
	for i := len(s.Input) - 1; i >= 0; i-- {
		if s.Input[i].Role == "user" {
			return s.Input[i].Content
		}
	}
	return ""
}

// WithQuestion returns a copy of s whose last user message is q.
func (s Sample) WithQuestion(q string) Sample {
	out := s.clone()
	for i := len(out.Input) - 1; i >= 0; i-- {
		if out.Input[i].Role == "user" {
			out.Input[i].Content = q
			return out
		}
	}
	out.Input = append(out.Input, target.Message{Role: "user", Content: q})
	return out
}

// clone copies s deeply enough that the copy's input and metadata can be
// changed.
func (s Sample) clone() Sample {
	out := s
	out.Input = append([]target.Message(nil), s.Input...)
	out.Metadata = make(map[string]string, len(s.Metadata)+3)
	for k, v := range s.Metadata {
		out.Metadata[k] = v
	}
	return out
}

// WithMeta returns a copy of s with extra metadata pairs (k1, v1, k2, v2...).
func (s Sample) WithMeta(kv ...string) Sample {
	out := s.clone()
	for i := 0; i+1 < len(kv); i += 2 {
		out.Metadata[kv[i]] = kv[i+1]
	}
	return out
}

// Dataset is a named list of samples.
type Dataset struct {
	Name    string
	Samples []Sample
}

// userMsg is a one-message conversation.
func userMsg(q string) []target.Message { return []target.Message{{Role: "user", Content: q}} }
