package target

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/alignlab/alignlab/model"
)

// Interim byte-level tokenization for local models.
//
// Until alignlab has its tokenizer (issue #3), a local target maps text to
// tokens one byte at a time: byte b is token id b, ByteEOS (256) ends a
// reply and ByteBOS (257) starts a prompt. A model audited this way must
// have been trained with the same mapping (vocabulary of at least 258).
// This is a stopgap, not a tokenizer: it will be replaced by the model's
// own tokenizer once checkpoints carry one.
const (
	ByteEOS   int32 = 256
	ByteBOS   int32 = 257
	ByteVocab       = 258
)

// ByteEncode is the interim byte-level encoding of text.
func ByteEncode(s string) []int32 {
	out := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int32(s[i])
	}
	return out
}

// ByteDecode turns byte-level tokens back into text, dropping special ids
// and repairing invalid UTF-8.
func ByteDecode(toks []int32) string {
	b := make([]byte, 0, len(toks))
	for _, t := range toks {
		if t >= 0 && t < 256 {
			b = append(b, byte(t))
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// Local is an alignlab model loaded in-process (model.Load). It renders chat
// messages with RenderPrompt and tokenizes bytes (see ByteEncode). A Model
// is not safe for concurrent use, so requests take turns.
type Local struct {
	dir       string
	m         *model.Model
	mu        sync.Mutex
	maxTokens int
}

// NewLocal loads the checkpoint in dir. maxTokens is the default reply
// length when a request sets none.
func NewLocal(dir string, maxTokens int) (*Local, error) {
	m, err := model.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("local target: %w", err)
	}
	return NewLocalModel(dir, m, maxTokens)
}

// NewLocalModel wraps an already loaded model; name identifies it.
func NewLocalModel(name string, m *model.Model, maxTokens int) (*Local, error) {
	if m.Config.VocabSize < ByteVocab {
		return nil, fmt.Errorf("local target %s: vocabulary %d < %d: the interim byte-level tokenization needs 256 bytes plus EOS and BOS (a real tokenizer arrives with issue #3)",
			name, m.Config.VocabSize, ByteVocab)
	}
	if maxTokens <= 0 {
		maxTokens = 64
	}
	if abs, err := filepath.Abs(name); err == nil {
		name = abs
	}
	return &Local{dir: name, m: m, maxTokens: maxTokens}, nil
}

// Name returns "local:DIR".
func (l *Local) Name() string { return "local:" + l.dir }

// prompt encodes msgs, keeping the most recent tokens that fit beside
// room new ones.
func (l *Local) prompt(msgs []Message, room int) ([]int32, error) {
	toks := append([]int32{ByteBOS}, ByteEncode(RenderPrompt(msgs))...)
	limit := l.m.Config.MaxSeqLen - room
	if limit < 2 {
		return nil, fmt.Errorf("local target: max_seq_len %d leaves no room for a prompt beside %d new tokens", l.m.Config.MaxSeqLen, room)
	}
	if len(toks) > limit {
		// Keep the end: it holds the question being asked.
		toks = append([]int32{ByteBOS}, toks[len(toks)-limit+1:]...)
	}
	return toks, nil
}

// Chat generates with the model: greedy at temperature 0, sampled
// otherwise, seeded by Params.Seed.
func (l *Local) Chat(ctx context.Context, req Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(req.Messages) == 0 {
		return nil, errors.New("chat request has no messages")
	}
	n := req.Params.MaxTokens
	if n <= 0 {
		n = l.maxTokens
	}
	n = min(n, l.m.Config.MaxSeqLen-2)
	p, err := l.prompt(req.Messages, n)
	if err != nil {
		return nil, err
	}
	prompts := make([][]int32, req.Params.Choices())
	for i := range prompts {
		prompts[i] = p
	}
	cfg := model.GenerateConfig{MaxNewTokens: n, Temperature: float32(req.Params.Temperature),
		TopP: float32(req.Params.TopP), StopTokens: []int32{ByteEOS}, Seed: req.Params.Seed}
	l.mu.Lock()
	gens, err := l.m.Generate(prompts, cfg)
	l.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("local target %s: %w", l.dir, err)
	}
	resp := &Response{Choices: make([]string, len(gens))}
	for i, g := range gens {
		resp.Choices[i] = ByteDecode(g.Tokens)
		resp.Usage.CompletionTokens += len(g.Tokens)
	}
	resp.Usage.PromptTokens = len(p)
	return resp, nil
}

// AnswerLogProb sums the model's log-probabilities of answer's bytes
// after the rendered prompt.
func (l *Local) AnswerLogProb(ctx context.Context, msgs []Message, answer string) (float64, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	ans := ByteEncode(answer)
	if len(ans) == 0 {
		return 0, 0, errors.New("empty answer")
	}
	p, err := l.prompt(msgs, len(ans))
	if err != nil {
		return 0, 0, err
	}
	toks := append(p, ans...)
	mask := make([]float32, len(toks))
	for i := len(p); i < len(toks); i++ {
		mask[i] = 1
	}
	l.mu.Lock()
	lp, err := l.m.SequenceLogProbs(toks, mask, 1, len(toks))
	l.mu.Unlock()
	if err != nil {
		return 0, 0, fmt.Errorf("local target %s: %w", l.dir, err)
	}
	return float64(lp[0]), len(ans), nil
}
