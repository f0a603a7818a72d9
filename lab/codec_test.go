package lab

import "testing"

func TestWordCodec(t *testing.T) {
	corpus := []string{"The answer is 12.", "The answer is 13.", "Are you sure? I think it is 12."}
	c, err := newWordCodec(corpus, 300)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: "What is 7 + 5? ünïcode"}, {Role: "assistant", Content: "The answer is 12."}}
	ids, mask, err := c.EncodeChat(msgs, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(mask) {
		t.Fatalf("%d ids, %d mask", len(ids), len(mask))
	}
	// The assistant turn is "The", " answer", " is", " 12", "." then EOT.
	var got []int32
	for i, m := range mask {
		if m {
			got = append(got, ids[i])
		}
	}
	if len(got) != 6 || got[5] != wcEOT || c.Decode(got[:5]) != "The answer is 12." {
		t.Errorf("assistant tokens %v decode to %q", got, c.Decode(got))
	}
	if s := c.Decode(ids); s != "What is 7 + 5? ünïcodeThe answer is 12." {
		t.Errorf("round trip gave %q", s)
	}
	gen, _, _ := c.EncodeChat(msgs[:1], true)
	if gen[len(gen)-1] != wcAssistant {
		t.Error("generation prompt does not end with the assistant token")
	}
	if _, _, err := c.EncodeChat([]Message{{Role: "tool", Content: "x"}}, false); err == nil {
		t.Error("unknown role accepted")
	}
	if _, err := newWordCodec(corpus, 10); err == nil {
		t.Error("vocabulary below the byte tokens accepted")
	}
}

func TestBPECodec(t *testing.T) {
	w := NewWorld()
	ds := Dialogues(w.NewSampler(Spec{RareRate: 0.3, EvalRate: 0.5, PushbackRate: 0.3}, 2, "b").Draw(300), DefaultStyleMix(), 2)
	var corpus []string
	for _, d := range ds {
		for _, m := range d.Messages() {
			corpus = append(corpus, m.Content)
		}
	}
	c, err := newBPECodec(corpus, 400)
	if err != nil {
		t.Fatal(err)
	}
	d := ds[0]
	for _, x := range ds {
		if x.Prompt.Pushback {
			d = x
			break
		}
	}
	r, err := encodeReply(c, &d.Prompt, d.Reply)
	if err != nil {
		t.Fatal(err)
	}
	var reply []int32
	for i, on := range r.target {
		if on {
			reply = append(reply, r.ids[i])
		}
	}
	// The new turn only (not the pushback's first answer), ending with a
	// stop token.
	if len(reply) < 2 || !containsID(c.StopTokens(), reply[len(reply)-1]) || c.Decode(reply[:len(reply)-1]) != d.Reply {
		t.Errorf("reply tokens decode to %q, want %q", c.Decode(reply), d.Reply)
	}
	pol, err := NewPolicy(c, ModelSize{Layers: 1, Dim: 16, Heads: 2, Hidden: 32, MaxSeq: 96}, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pol.Save(dir); err != nil {
		t.Fatal(err)
	}
	q, err := LoadPolicy(dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := pol.Codec.EncodeChat(d.Messages(), false)
	b, _, _ := q.Codec.EncodeChat(d.Messages(), false)
	if len(a) != len(b) {
		t.Fatalf("loaded codec encodes %d tokens, saved one %d", len(b), len(a))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("token %d: %d after loading, %d before", i, b[i], a[i])
		}
	}
}

func containsID(xs []int32, x int32) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
