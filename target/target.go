// Package target is what alignlab audits: a model behind a small interface,
// either any OpenAI-compatible HTTP endpoint or a local alignlab model.
//
// The interface holds only what the audit probes need: chat completions
// with sampling parameters (seed, temperature, max tokens, n), and, where a
// target offers it, the log-probability of a given answer. Retries, rate
// limits and the response cache live here too, so every probe gets them.
package target

import (
	"context"
	"errors"
)

// Message is one chat turn. Role is "system", "user" or "assistant".
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Params are the sampling parameters of one request. Zero values mean the
// harness defaults: greedy decoding (temperature 0), one choice.
type Params struct {
	Temperature float64 `json:"temperature"`
	// TopP is nucleus sampling; 0 leaves the server default.
	TopP float64 `json:"top_p,omitempty"`
	// MaxTokens bounds the response length; 0 leaves the server default.
	MaxTokens int `json:"max_tokens,omitempty"`
	// N is the number of choices to sample (OpenAI's n); 0 means 1.
	N int `json:"n,omitempty"`
	// Seed is passed through to servers that support it, so a rerun
	// samples the same tokens; HasSeed says whether it is set.
	Seed    int64    `json:"seed"`
	HasSeed bool     `json:"has_seed"`
	Stop    []string `json:"stop,omitempty"`
}

// Choices returns how many choices p asks for (at least 1).
func (p Params) Choices() int {
	if p.N < 1 {
		return 1
	}
	return p.N
}

// Request is one chat completion request.
type Request struct {
	Messages []Message `json:"messages"`
	Params   Params    `json:"params"`
}

// Usage counts tokens as the server reported them (zero when it did not).
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Response is a chat completion: one text per requested choice.
type Response struct {
	Choices []string `json:"choices"`
	Usage   Usage    `json:"usage"`
	// Cached is true when the response came from the response cache.
	Cached bool `json:"-"`
}

// Target is a model that answers chat requests.
type Target interface {
	// Name identifies the endpoint (a URL or a directory) and the model, for
	// cache keys and reports. It never contains a secret.
	Name() string
	// Chat returns the completions for req. It is safe for concurrent use.
	Chat(ctx context.Context, req Request) (*Response, error)
}

// LogProber is offered by targets that can score a given answer: it
// returns the summed log-probability (natural log) of answer as the
// assistant's reply to msgs, and how many tokens that covered.
type LogProber interface {
	AnswerLogProb(ctx context.Context, msgs []Message, answer string) (logprob float64, tokens int, err error)
}

// ErrLogProbsUnsupported is returned by AnswerLogProb when the endpoint
// turned out not to offer log-probabilities.
var ErrLogProbsUnsupported = errors.New("target does not offer log-probabilities")
