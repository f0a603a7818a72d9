package lab

import (
	"math"
	"slices"
	"testing"

	"github.com/alignlab/alignlab/model"
)

// TestPolicyHooks: a read-only hook changes neither replies nor reply
// log-probs; a hook that adds a large vector to the residual stream changes
// both, so Policy.Hooks reaches generation and the full forward alike.
func TestPolicyHooks(t *testing.T) {
	pol, ps := tinyPolicy(t, NewWorld(), 24)
	ps = ps[:8]
	replies, err := pol.Replies(ps, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	lps, err := pol.ReplyLogProbs(ps, replies)
	if err != nil {
		t.Fatal(err)
	}

	reads := 0
	read := model.NewHooks()
	read.Add("blocks.0.hook_resid_post", func(string, []float32, []int) { reads++ })
	pol.Hooks = read
	r2, err := pol.Replies(ps, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := pol.ReplyLogProbs(ps, replies)
	if err != nil {
		t.Fatal(err)
	}
	if reads == 0 || !slices.Equal(r2, replies) {
		t.Fatalf("read-only hook (%d calls) changed replies: %q vs %q", reads, r2, replies)
	}
	for i := range lps {
		if math.Abs(float64(l2[i]-lps[i])) > 1e-3*(1+math.Abs(float64(lps[i]))) {
			t.Fatalf("reply %d: hooked log-prob %g, plain %g", i, l2[i], lps[i])
		}
	}

	push := model.NewHooks()
	push.Add("blocks.0.hook_resid_post", func(_ string, act []float32, _ []int) {
		for i := range act {
			act[i] += float32(10 * ((i % 7) - 3))
		}
	})
	pol.Hooks = push
	r3, err := pol.Replies(ps, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	l3, err := pol.ReplyLogProbs(ps, replies)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(r3, replies) {
		t.Fatal("steering hook changed no reply")
	}
	if math.Abs(float64(l3[0]-lps[0])) < 1e-2 {
		t.Fatalf("steering hook left reply 0's log-prob at %g (plain %g)", l3[0], lps[0])
	}
}
