package target

import (
	"context"
	"math"
	"testing"

	"github.com/alignlab/alignlab/model"
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
