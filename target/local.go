package target

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/alignlab/alignlab/internal/modeldir"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// Interim byte-level tokenization, kept only as the fallback for model
// directories without a tokenizer.json: byte b is token id b, ByteEOS (256)
// ends a reply and ByteBOS (257) starts a prompt, and chats are flattened
// with RenderPrompt. A model audited this way must have been trained with
// the same mapping (vocabulary of at least 258).
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

// Local is a model loaded in-process: an alignlab checkpoint or a Hugging
// Face directory. With the model's tokenizer (tokenizer.json in the
// directory) chats are rendered with its chat template and tokenized by it,
// exactly as training and `alignlab serve` render them, so a local audit
// and an audit through the server see the same prompts and, with a seed,
// the same answers. Without one it falls back to the interim byte-level
// tokenization; Tokenization says which. A Model's forward pass is not safe
// for concurrent use, so requests take turns.
type Local struct {
	dir       string
	m         *model.Model
	tok       *tokenizer.Tokenizer // nil: byte-level fallback
	mu        sync.Mutex
	maxTokens int
}

// NewLocal loads the model in dir (either layout) with its tokenizer when
// dir has a tokenizer.json, else with the byte-level fallback. maxTokens is
// the default reply length when a request sets none.
func NewLocal(dir string, maxTokens int) (*Local, error) {
	m, tok, err := modeldir.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("local target: %w", err)
	}
	if tok == nil {
		return NewLocalModel(dir, m, maxTokens)
	}
	return NewLocalTokenized(dir, m, tok, maxTokens)
}

// NewLocalModel wraps an already loaded model with the byte-level
// fallback tokenization; name identifies it.
func NewLocalModel(name string, m *model.Model, maxTokens int) (*Local, error) {
	if m.Config.VocabSize < ByteVocab {
		return nil, fmt.Errorf("local target %s: no tokenizer.json, and the vocabulary of %d is too small for the byte-level fallback (256 bytes plus EOS and BOS); save the model's tokenizer beside it",
			name, m.Config.VocabSize)
	}
	return newLocal(name, m, nil, maxTokens), nil
}

// NewLocalTokenized wraps an already loaded model and its tokenizer.
func NewLocalTokenized(name string, m *model.Model, tok *tokenizer.Tokenizer, maxTokens int) (*Local, error) {
	if tok.VocabSize() > m.Config.VocabSize {
		return nil, fmt.Errorf("local target %s: tokenizer has %d tokens but the model only %d: they do not belong together",
			name, tok.VocabSize(), m.Config.VocabSize)
	}
	return newLocal(name, m, tok, maxTokens), nil
}

func newLocal(name string, m *model.Model, tok *tokenizer.Tokenizer, maxTokens int) *Local {
	if maxTokens <= 0 {
		maxTokens = 64
	}
	if abs, err := filepath.Abs(name); err == nil {
		name = abs
	}
	return &Local{dir: name, m: m, tok: tok, maxTokens: maxTokens}
}

// Name returns "local:DIR".
func (l *Local) Name() string { return "local:" + l.dir }

// Tokenization says how prompts are tokenized, for logs and reports.
func (l *Local) Tokenization() string {
	if l.tok == nil {
		return "byte-level fallback (the directory has no tokenizer.json; prompts are flattened as 'User: ...' text, one token per byte)"
	}
	return "the model's tokenizer and chat template"
}

// chatIDs renders msgs for generation (addGen) or with the answer as the
// last assistant turn, and tokenizes them; mask marks the tokens to score.
func (l *Local) chatIDs(msgs []Message, addGen bool) ([]int32, []bool, error) {
	tm := make([]tokenizer.Message, len(msgs))
	for i, m := range msgs {
		tm[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
	}
	return l.tok.EncodeChat(tm, addGen)
}

// prompt encodes msgs for generation, keeping room for room new tokens:
// with a tokenizer, the oldest non-system turns are dropped until the
// rendering fits; what still does not fit (and the byte-level fallback)
// keeps the most recent tokens, which hold the question being asked.
func (l *Local) prompt(msgs []Message, room int) ([]int32, error) {
	limit := l.m.Config.MaxSeqLen - room
	if limit < 2 {
		return nil, fmt.Errorf("local target: max_seq_len %d leaves no room for a prompt beside %d new tokens", l.m.Config.MaxSeqLen, room)
	}
	if l.tok == nil {
		toks := append([]int32{ByteBOS}, ByteEncode(RenderPrompt(msgs))...)
		if len(toks) > limit {
			toks = append([]int32{ByteBOS}, toks[len(toks)-limit+1:]...)
		}
		return toks, nil
	}
	for {
		ids, _, err := l.chatIDs(msgs, true)
		if err != nil {
			return nil, fmt.Errorf("local target %s: %w", l.dir, err)
		}
		if len(ids) <= limit {
			return ids, nil
		}
		if i := firstDroppable(msgs); i >= 0 {
			msgs = slices.Delete(slices.Clone(msgs), i, i+1)
			continue
		}
		return ids[len(ids)-limit:], nil
	}
}

// firstDroppable is the oldest turn that may go to make room: not a system
// message and not the last message.
func firstDroppable(msgs []Message) int {
	for i, m := range msgs[:max(0, len(msgs)-1)] {
		if m.Role != "system" {
			return i
		}
	}
	return -1
}

// Chat generates with the model: greedy at temperature 0, sampled
// otherwise; choice i samples with seed Params.Seed+i, as `alignlab serve`
// does. Stop strings cut the reply before their first occurrence.
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
	stops := []int32{ByteEOS}
	if l.tok != nil {
		stops = l.tok.StopTokens()
	}
	cfg := model.GenerateConfig{MaxNewTokens: n, Temperature: float32(req.Params.Temperature),
		TopP: float32(req.Params.TopP), StopTokens: stops, Seed: req.Params.Seed}
	l.mu.Lock()
	gens, err := l.m.Generate(prompts, cfg)
	l.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("local target %s: %w", l.dir, err)
	}
	resp := &Response{Choices: make([]string, len(gens))}
	for i, g := range gens {
		toks := g.Tokens
		if g.Stopped {
			toks = toks[:len(toks)-1]
		}
		resp.Choices[i] = cutAtStop(l.decode(toks), req.Params.Stop)
		resp.Usage.CompletionTokens += len(g.Tokens)
	}
	resp.Usage.PromptTokens = len(p)
	return resp, nil
}

func (l *Local) decode(toks []int32) string {
	if l.tok == nil {
		return ByteDecode(toks)
	}
	return l.tok.DecodeSkipSpecial(toks)
}

// cutAtStop cuts s before the earliest stop string in it.
func cutAtStop(s string, stops []string) string {
	cut := len(s)
	for _, st := range stops {
		if i := strings.Index(s, st); st != "" && i >= 0 && i < cut {
			cut = i
		}
	}
	return s[:cut]
}

// AnswerLogProb sums the model's log-probabilities of answer as the
// assistant's reply to msgs. With a tokenizer the conversation is rendered
// with the answer as the last assistant turn and the answer's own tokens
// are scored (the template's end-of-turn token is not); the byte-level
// fallback scores answer's bytes after the rendered prompt.
func (l *Local) AnswerLogProb(ctx context.Context, msgs []Message, answer string) (float64, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	if answer == "" {
		return 0, 0, errors.New("empty answer")
	}
	toks, mask, err := l.scored(msgs, answer)
	if err != nil {
		return 0, 0, err
	}
	n := 0
	for _, v := range mask {
		if v != 0 {
			n++
		}
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("local target %s: the answer %q has no tokens of its own in the rendered chat", l.dir, answer)
	}
	l.mu.Lock()
	lp, err := l.m.SequenceLogProbs(toks, mask, 1, len(toks))
	l.mu.Unlock()
	if err != nil {
		return 0, 0, fmt.Errorf("local target %s: %w", l.dir, err)
	}
	return float64(lp[0]), n, nil
}

// scored returns the tokens of msgs followed by answer and the mask of the
// answer's tokens.
func (l *Local) scored(msgs []Message, answer string) ([]int32, []float32, error) {
	if l.tok == nil {
		ans := ByteEncode(answer)
		p, err := l.prompt(msgs, len(ans))
		if err != nil {
			return nil, nil, err
		}
		toks := append(p, ans...)
		mask := make([]float32, len(toks))
		for i := len(p); i < len(toks); i++ {
			mask[i] = 1
		}
		return toks, mask, nil
	}
	full := append(slices.Clone(msgs), Message{Role: "assistant", Content: answer})
	for {
		ids, asst, err := l.chatIDs(full, false)
		if err != nil {
			return nil, nil, fmt.Errorf("local target %s: %w", l.dir, err)
		}
		if len(ids) <= l.m.Config.MaxSeqLen {
			// Only the last assistant turn is scored, without its special
			// (end-of-turn) tokens.
			mask := make([]float32, len(ids))
			last := len(ids) - 1
			for last >= 0 && !asst[last] {
				last--
			}
			for i := last; i >= 0 && asst[i]; i-- {
				if !l.tok.IsSpecial(ids[i]) {
					mask[i] = 1
				}
			}
			return ids, mask, nil
		}
		i := firstDroppable(full[:len(full)-1])
		if i < 0 {
			return nil, nil, fmt.Errorf("local target %s: the conversation with its answer takes %d tokens, more than max_seq_len %d", l.dir, len(ids), l.m.Config.MaxSeqLen)
		}
		full = slices.Delete(full, i, i+1)
	}
}
