package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// RenderPrompt flattens chat messages into the plain-text prompt used to
// score an answer on a completions endpoint: "User: ...\n\nAssistant: ".
// A chat model's own template would differ; for comparing checkpoints of
// one model (the overhang probe) only consistency matters.
func RenderPrompt(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		role := m.Role
		if role != "" {
			role = strings.ToUpper(role[:1]) + role[1:]
		}
		b.WriteString(role)
		b.WriteString(": ")
		b.WriteString(m.Content)
		b.WriteString("\n\n")
	}
	b.WriteString("Assistant: ")
	return b.String()
}

type complReply struct {
	Choices []struct {
		Logprobs *struct {
			Tokens        []string   `json:"tokens"`
			TokenLogprobs []*float64 `json:"token_logprobs"`
			TextOffset    []int      `json:"text_offset"`
		} `json:"logprobs"`
	} `json:"choices"`
}

// AnswerLogProb scores answer after msgs with the legacy completions
// endpoint (echo + logprobs, as vLLM and llama.cpp servers offer): it sums
// the log-probabilities of the echoed tokens that fall inside the answer.
// Endpoints without it give ErrLogProbsUnsupported, remembered so later
// calls fail fast.
func (h *HTTP) AnswerLogProb(ctx context.Context, msgs []Message, answer string) (float64, int, error) {
	select {
	case <-h.noLogp:
		return 0, 0, ErrLogProbsUnsupported
	default:
	}
	prompt := RenderPrompt(msgs)
	body := map[string]any{"model": h.cfg.Model, "prompt": prompt + answer, "max_tokens": 1,
		"echo": true, "logprobs": 1, "temperature": 0}
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, 0, fmt.Errorf("encode completions request: %w", err)
	}
	// Offsets are in characters (code points), as the OpenAI API reports them.
	start := utf8.RuneCountInString(prompt)
	end := start + utf8.RuneCountInString(answer)
	var sum float64
	var n int
	err = h.do(ctx, "completion log-probs", h.complURL, payload, func(data []byte) error {
		var r complReply
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("reply is not JSON: %w", err)
		}
		if len(r.Choices) == 0 || r.Choices[0].Logprobs == nil {
			return permanent{errNoLogprobs}
		}
		lp := r.Choices[0].Logprobs
		if len(lp.TokenLogprobs) != len(lp.TextOffset) {
			return fmt.Errorf("logprobs has %d values for %d offsets", len(lp.TokenLogprobs), len(lp.TextOffset))
		}
		sum, n = 0, 0
		for i, off := range lp.TextOffset {
			if off < start || off >= end {
				continue
			}
			if lp.TokenLogprobs[i] == nil {
				return fmt.Errorf("token %d of the answer has no log-prob", i)
			}
			sum += *lp.TokenLogprobs[i]
			n++
		}
		if n == 0 {
			return fmt.Errorf("no echoed token falls inside the answer (offsets %d..%d)", start, end)
		}
		return nil
	})
	if err != nil {
		var e *Error
		if errors.Is(err, errNoLogprobs) || (errors.As(err, &e) && (e.Status == 404 || e.Status == 400 || e.Status == 501)) {
			h.markNoLogprobs()
			return 0, 0, fmt.Errorf("%w: %v", ErrLogProbsUnsupported, err)
		}
		return 0, 0, err
	}
	return sum, n, nil
}

var errNoLogprobs = errors.New("reply has no logprobs")

func (h *HTTP) markNoLogprobs() { h.noLogpOnce.Do(func() { close(h.noLogp) }) }
