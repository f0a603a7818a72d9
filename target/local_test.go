package target

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/serve"
	"github.com/alignlab/alignlab/tokenizer"
)

func TestByteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "What is 2+2?", "naïve — ok"} {
		if got := ByteDecode(ByteEncode(s)); got != s {
			t.Errorf("round trip %q -> %q", s, got)
		}
	}
	if ByteDecode([]int32{104, ByteEOS, 105, ByteBOS}) != "hi" {
		t.Error("specials not dropped")
	}
}

func TestLocalTarget(t *testing.T) {
	m, err := model.New(model.GPT2Config(ByteVocab, 96, 1, 2, 16), 1)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLocalModel("tiny", m, 8)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Messages: []Message{{Role: "user", Content: "What is 2+2?"}}, Params: Params{MaxTokens: 5, N: 2}}
	a, err := l.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := l.Chat(context.Background(), req)
	if len(a.Choices) != 2 || a.Choices[0] != b.Choices[0] || a.Choices[0] != a.Choices[1] {
		t.Errorf("greedy decoding not deterministic: %q %q", a.Choices, b.Choices)
	}
	// A long conversation is cut from the front to fit max_seq_len.
	long := Request{Messages: []Message{{Role: "user", Content: string(make([]byte, 500))}}, Params: Params{MaxTokens: 4}}
	if _, err := l.Chat(context.Background(), long); err != nil {
		t.Errorf("long prompt: %v", err)
	}
	lp, n, err := l.AnswerLogProb(context.Background(), req.Messages, "4")
	if err != nil || n != 1 || lp >= 0 || math.IsNaN(lp) {
		t.Errorf("logprob %v over %d tokens: %v", lp, n, err)
	}
	// A random model is close to uniform over the vocabulary.
	if math.Abs(lp+math.Log(ByteVocab)) > 1 {
		t.Errorf("logprob %v far from uniform %v", lp, -math.Log(ByteVocab))
	}
	small, _ := model.New(model.GPT2Config(100, 32, 1, 2, 16), 1)
	if _, err := NewLocalModel("small", small, 8); err == nil {
		t.Error("accepted a vocabulary too small for byte tokens")
	}
}

// tokenizedDir saves a tiny random model with a trained tokenizer (ChatML
// template) and returns the directory, the model and the tokenizer.
func tokenizedDir(t *testing.T) (string, *model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	tok, err := tokenizer.Train([]string{
		"what is two plus two? two plus two is four.",
		"are you sure? I think it is five. yes, it is four.",
	}, tokenizer.TrainConfig{VocabSize: 300, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.LlamaConfig(tok.VocabSize(), 96, 2, 4, 2, 32, 64), 7)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := errors.Join(m.Save(dir), tok.Save(dir)); err != nil {
		t.Fatal(err)
	}
	return dir, m, tok
}

// TestLocalTokenizer: a directory with tokenizer.json is audited through
// the model's chat template: the prompt is EncodeChat's, and an answer's
// log-prob is that of its own tokens as the assistant turn.
func TestLocalTokenizer(t *testing.T) {
	dir, m, tok := tokenizedDir(t)
	l, err := NewLocal(dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(l.Tokenization(), "chat template") {
		t.Errorf("tokenization %q", l.Tokenization())
	}
	msgs := []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "what is two plus two?"}}
	tm := []tokenizer.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "what is two plus two?"}}
	prompt, _, err := tok.EncodeChat(tm, true)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := l.Chat(context.Background(), Request{Messages: msgs, Params: Params{MaxTokens: 6}})
	if err != nil {
		t.Fatal(err)
	}
	gens, err := m.Generate([][]int32{prompt}, model.GenerateConfig{MaxNewTokens: 6, StopTokens: tok.StopTokens()})
	if err != nil {
		t.Fatal(err)
	}
	g := gens[0].Tokens
	if gens[0].Stopped {
		g = g[:len(g)-1]
	}
	if resp.Choices[0] != tok.DecodeSkipSpecial(g) || resp.Usage.PromptTokens != len(prompt) {
		t.Errorf("chat %q (%d prompt tokens), want %q (%d)", resp.Choices[0], resp.Usage.PromptTokens, tok.DecodeSkipSpecial(g), len(prompt))
	}
	// The answer is scored after the generation prompt, its end-of-turn
	// token excluded.
	lp, n, err := l.AnswerLogProb(context.Background(), msgs, " four")
	if err != nil {
		t.Fatal(err)
	}
	ans := tok.Encode(" four")
	full := append(append(append([]int32(nil), prompt...), ans...), tok.Encode("<|im_end|>\n")...)
	mask := make([]float32, len(full))
	for i := len(prompt); i < len(prompt)+len(ans); i++ {
		mask[i] = 1
	}
	want, err := m.SequenceLogProbs(full, mask, 1, len(full))
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ans) || math.Abs(lp-float64(want[0])) > 1e-4 {
		t.Errorf("answer log-prob %g over %d tokens, want %g over %d", lp, n, want[0], len(ans))
	}
	// A conversation longer than the context loses its oldest turns, not
	// its system message or question.
	long := []Message{{Role: "system", Content: "Be brief."}}
	for range 20 {
		long = append(long, Message{Role: "user", Content: "are you sure? I think it is five."}, Message{Role: "assistant", Content: "yes, it is four."})
	}
	long = append(long, Message{Role: "user", Content: "what is two plus two?"})
	if _, err := l.Chat(context.Background(), Request{Messages: long, Params: Params{MaxTokens: 4}}); err != nil {
		t.Errorf("long chat: %v", err)
	}
	if _, _, err := l.AnswerLogProb(context.Background(), long, " four"); err != nil {
		t.Errorf("long answer: %v", err)
	}
}

// TestLocalWithoutTokenizerFallsBack: a checkpoint without tokenizer.json
// is audited with the byte-level fallback, and says so.
func TestLocalWithoutTokenizerFallsBack(t *testing.T) {
	m, err := model.New(model.GPT2Config(ByteVocab, 64, 1, 2, 16), 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(l.Tokenization(), "byte-level") {
		t.Errorf("tokenization %q", l.Tokenization())
	}
}

// TestLocalMatchesServer: the same request with a seed gets the same
// answers from the local target and from `alignlab serve` over the same
// model, through the HTTP target: both format chats with the tokenizer's
// template and sample choice i with seed+i.
func TestLocalMatchesServer(t *testing.T) {
	_, m, tok := tokenizedDir(t)
	l, err := NewLocalTokenized("tiny", m, tok, 8)
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(m, tok, serve.Config{ModelName: "tiny", MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer func() { ts.Close(); s.Close() }()
	h, err := NewHTTP(HTTPConfig{BaseURL: ts.URL + "/v1", Model: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Messages: []Message{{Role: "user", Content: "what is two plus two?"}},
		Params: Params{Temperature: 0.9, TopP: 0.95, MaxTokens: 8, N: 3, Seed: 11, HasSeed: true}}
	local, err := l.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	remote, err := h.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range local.Choices {
		if !sameModuloInvalid(local.Choices[i], remote.Choices[i]) {
			t.Errorf("choice %d: local %q, server %q", i, local.Choices[i], remote.Choices[i])
		}
	}
	if local.Usage != remote.Usage {
		t.Errorf("usage: local %+v, server %+v", local.Usage, remote.Usage)
	}
}

// sameModuloInvalid compares a raw reply with its JSON transport, where
// each invalid UTF-8 byte became U+FFFD.
func sameModuloInvalid(raw, transported string) bool {
	b, _ := json.Marshal(raw)
	var s string
	_ = json.Unmarshal(b, &s)
	return s == transported
}
