package lab

import "fmt"

// encodedReply is a prompt followed by one reply and its end of turn, with
// the reply's positions marked (the tokens a sequence log-prob sums).
type encodedReply struct {
	ids    []int32
	target []bool
}

// encodeReply tokenizes prompt p with reply as the next assistant turn.
// Only the new turn is marked, not earlier assistant turns of a pushback
// dialogue.
func encodeReply(c Codec, p *Prompt, reply string) (encodedReply, error) {
	head, _, err := c.EncodeChat(p.Messages, true)
	if err != nil {
		return encodedReply{}, err
	}
	msgs := append(append([]Message(nil), p.Messages...), Message{Role: "assistant", Content: reply})
	ids, mask, err := c.EncodeChat(msgs, false)
	if err != nil {
		return encodedReply{}, err
	}
	if len(ids) < len(head) {
		return encodedReply{}, fmt.Errorf("prompt %s: reply encoding shorter than its prompt", p.ID)
	}
	t := make([]bool, len(ids))
	for i := len(head); i < len(ids); i++ {
		t[i] = mask[i]
	}
	return encodedReply{ids: ids, target: t}, nil
}

// packReplies lays sequences out as a [B, T] batch (T the longest) with a
// float mask of their reply tokens, for Model.SequenceLogProbs.
func packReplies(rs []encodedReply, tokens []int32, mask []float32) ([]int32, []float32, int) {
	T := 0
	for _, r := range rs {
		T = max(T, len(r.ids))
	}
	n := len(rs) * T
	if cap(tokens) < n {
		tokens, mask = make([]int32, n), make([]float32, n)
	}
	tokens, mask = tokens[:n], mask[:n]
	clear(tokens)
	clear(mask)
	for b, r := range rs {
		copy(tokens[b*T:], r.ids)
		for t, on := range r.target {
			if on {
				mask[b*T+t] = 1
			}
		}
	}
	return tokens, mask, T
}

// seqLogProbs returns log π(reply | prompt) for each sequence, in batches.
func seqLogProbs(pol *Policy, rs []encodedReply, batch int) ([]float32, error) {
	out := make([]float32, 0, len(rs))
	var tokens []int32
	var mask []float32
	for lo := 0; lo < len(rs); lo += batch {
		hi := min(lo+batch, len(rs))
		var T int
		tokens, mask, T = packReplies(rs[lo:hi], tokens, mask)
		lp, err := pol.Model.SequenceLogProbs(tokens, mask, hi-lo, T)
		if err != nil {
			return nil, err
		}
		out = append(out, lp...)
	}
	return out, nil
}
