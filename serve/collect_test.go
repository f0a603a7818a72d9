package serve

import (
	"context"
	"testing"
)

func TestIncompleteUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0}, {"abc", 0}, {"é", 0}, {"a\xc3", 1}, {"a\xe2\x82", 2}, {"\xf0\x9f\x99", 3},
		{"🙂", 0}, {"a\x80", 0}, {"\xff", 0}, {"ab\xe2", 1},
	} {
		if got := incompleteUTF8([]byte(c.in)); got != c.want {
			t.Errorf("incompleteUTF8(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestStopStringAcrossTokens feeds a choice token by token and checks what
// may be shown at each point: a tail that could start a stop string is
// held back, and a match cuts the text, halts the sequence and finishes
// the choice with "stop".
func TestStopStringAcrossTokens(t *testing.T) {
	f := newFixture(t, Config{})
	s := f.s
	var ids []int32
	for _, b := range []byte("hello wor") {
		ids = append(ids, f.tok.Encode(string(b))...)
	}
	cases := []struct {
		stops     []string
		wantText  string
		wantReady []int // ready() after each token
		finish    string
	}{
		{nil, "hello wor", []int{1, 2, 3, 4, 5, 6, 7, 8, 9}, ""},
		{[]string{"o w"}, "hell", []int{1, 2, 3, 4, 4, 4, 4}, "stop"},
		{[]string{"lo", "xyz"}, "hel", []int{1, 2, 2, 3, 3}, "stop"},
		{[]string{"wors"}, "hello wor", []int{1, 2, 3, 4, 5, 6, 6, 6, 6}, ""},
	}
	for _, c := range cases {
		seq := &seqRequest{}
		ru, err := s.start(context.Background(), nil, c.stops, s.stops)
		if err != nil {
			t.Fatal(err)
		}
		ch := &choiceState{req: seq}
		ru.choices = []*choiceState{ch}
		var ready []int
		for _, id := range ids {
			if ch.done {
				break
			}
			ru.addToken(ch, event{kind: evToken, token: id})
			ready = append(ready, ru.ready(ch))
		}
		if string(ch.text) != c.wantText || ch.finish != c.finish || seq.halt.Load() != (c.finish == "stop") {
			t.Errorf("stops %q: text %q finish %q halted %v", c.stops, ch.text, ch.finish, seq.halt.Load())
		}
		if len(ready) != len(c.wantReady) {
			t.Errorf("stops %q: ready %v, want %v", c.stops, ready, c.wantReady)
			continue
		}
		for i := range ready {
			if ready[i] != c.wantReady[i] {
				t.Errorf("stops %q: ready %v, want %v", c.stops, ready, c.wantReady)
				break
			}
		}
		// Tokens after the cut are not reported.
		if c.finish == "stop" {
			if got := len(ch.kept(0, len(ch.tokens))); got != len(c.wantText) {
				t.Errorf("stops %q: %d tokens kept, want %d", c.stops, got, len(c.wantText))
			}
		}
	}
}
