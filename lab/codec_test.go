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
