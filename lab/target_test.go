package lab

import (
	"context"
	"testing"

	"github.com/alignlab/alignlab/target"
)

// TestPolicyTargetBatch: a batch of requests with unrelated seeds answers
// each as Chat alone does, and answer log-probs equal the policy's own.
func TestPolicyTargetBatch(t *testing.T) {
	pol, ps := tinyPolicy(t, NewWorld(), 24)
	ps = ps[:6]
	tg := NewPolicyTarget("tiny", pol)
	ctx := context.Background()
	reqs := make([]target.Request, len(ps))
	for i := range ps {
		reqs[i] = target.Request{Messages: sampleOf(&ps[i]).Input, Params: target.Params{Temperature: 1, Seed: int64(1000 - 37*i)}}
	}
	batch, err := tg.ChatBatch(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		one, err := tg.Chat(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if one.Choices[0] != batch[i].Choices[0] {
			t.Errorf("request %d: alone %q, in a batch %q", i, one.Choices[0], batch[i].Choices[0])
		}
	}
	replies := make([]string, len(ps))
	ars := make([]target.AnswerRequest, len(ps))
	for i := range ps {
		replies[i] = Reply(&ps[i], StylePlain, 0)
		ars[i] = target.AnswerRequest{Messages: reqs[i].Messages, Answer: replies[i]}
	}
	want, err := pol.ReplyLogProbs(ps, replies)
	if err != nil {
		t.Fatal(err)
	}
	got, ns, err := tg.AnswerLogProbs(ctx, ars)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if float32(got[i]) != want[i] || ns[i] == 0 {
			t.Errorf("answer %d: log-prob %g over %d tokens, policy says %g", i, got[i], ns[i], want[i])
		}
	}
}
