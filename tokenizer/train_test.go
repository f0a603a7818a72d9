package tokenizer

import (
	"reflect"
	"strings"
	"testing"
)

// The corpus "aaab aab ab" is cut into "aaab", " aab", " ab". Pair counts:
// (a,a) 3, (a,b) 3, ( ,a) 2. Worked by hand, the merges in order are
//
//	a a     (3; ties with a b, and "a" < "b")
//	a b     (2 left: in "aaab" -> aa a b and " ab")
//	Ġ aa    (all pairs now 1; " " sorts first, "aa" < "ab")
//	Ġ ab
//	Ġaa b
//	aa ab
//
// With one special token, 'a' is id 1+('a'-'!') = 65, 'b' 66, and the space
// 189+32 = 221 (bytes 0..32 come after the 188 printable ones); merged tokens
// take 257, 258, ...
func trainTiny(t *testing.T, vocab, minFreq int) *Tokenizer {
	t.Helper()
	tk, err := Train([]string{"aaab aab ab"}, TrainConfig{VocabSize: vocab, Special: []string{"<|endoftext|>"}, MinFrequency: minFreq})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestTrainKnownMerges(t *testing.T) {
	tk := trainTiny(t, 1000, 0)
	want := []string{"a a", "a b", "Ġ aa", "Ġ ab", "Ġaa b", "aa ab"}
	if got := tk.Merges(); !reflect.DeepEqual(got, want) {
		t.Fatalf("merges %q, want %q", got, want)
	}
	if tk.VocabSize() != 263 {
		t.Errorf("vocab size %d, want 263", tk.VocabSize())
	}
	for s, id := range map[string]int32{"<|endoftext|>": 0, "!": 1, "a": 65, "b": 66, "Ġ": 221, "aa": 257, "Ġaab": 261, "aaab": 262} {
		if got, ok := tk.TokenID(s); !ok || got != id {
			t.Errorf("TokenID(%q) = %d, %v; want %d", s, got, ok, id)
		}
	}
}

func TestTrainKnownEncodings(t *testing.T) {
	tk := trainTiny(t, 1000, 0)
	tests := []struct {
		in   string
		want []int32
	}{
		{"aaab", []int32{262}},
		{" aab", []int32{261}},
		{"ab aa", []int32{258, 259}},
		{"aaaa", []int32{257, 257}}, // leftmost a a first, then the next pair
		{"aaa", []int32{257, 65}},   // aa a: no merge "aa a"
		{"ba", []int32{66, 65}},     // no merge "b a"
		{" b", []int32{221, 66}},    // no merge "Ġ b"
		{"<|endoftext|>aab", []int32{0, 257, 66}},
		{"", nil},
	}
	for _, tc := range tests {
		got := tk.Encode(tc.in)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if back := tk.Decode(got); back != tc.in {
			t.Errorf("Decode(Encode(%q)) = %q", tc.in, back)
		}
	}
	if got := tk.EncodeOrdinary("<|endoftext|>"); len(got) < 2 || tk.Decode(got) != "<|endoftext|>" {
		t.Errorf("EncodeOrdinary of a special token's text = %v, want plain-text tokens", got)
	}
}

func TestTrainStopsAtVocabSizeAndMinFrequency(t *testing.T) {
	if got := trainTiny(t, 259, 0).Merges(); !reflect.DeepEqual(got, []string{"a a", "a b"}) {
		t.Errorf("vocab 259: merges %q", got)
	}
	if got := trainTiny(t, 1000, 2).Merges(); !reflect.DeepEqual(got, []string{"a a", "a b"}) {
		t.Errorf("min frequency 2: merges %q", got)
	}
}

func TestTrainDeterministic(t *testing.T) {
	corpus := []string{strings.Repeat("the cat sat on the mat; the dog ate the hat. ", 20), "ünïcödé naïve café 123 4567"}
	cfg := TrainConfig{VocabSize: 300, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}}
	a, err := Train(corpus, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		b, err := Train(corpus, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Merges(), b.Merges()) || !reflect.DeepEqual(a.Vocab(), b.Vocab()) {
			t.Fatal("two trainings on the same corpus differ")
		}
	}
	if a.VocabSize() != 300 {
		t.Errorf("vocab size %d, want 300", a.VocabSize())
	}
	if !strings.Contains("|"+strings.Join(a.Merges()[:8], "|")+"|", "|Ġ the|") {
		t.Errorf("the frequent word ' the' is not among the first merges %q", a.Merges()[:8])
	}
}

func TestTrainErrors(t *testing.T) {
	for _, cfg := range []TrainConfig{
		{VocabSize: 200},
		{VocabSize: 300, Special: []string{"<a>", "<a>"}},
		{VocabSize: 300, Special: []string{""}},
	} {
		if _, err := Train([]string{"x"}, cfg); err == nil {
			t.Errorf("Train with %+v: want an error", cfg)
		}
	}
}

func TestTrainRoles(t *testing.T) {
	tk, err := Train([]string{"hello"}, TrainConfig{VocabSize: 300, Special: []string{"<|endoftext|>", "<|im_end|>"}, BOS: "<s>", PAD: "<pad>"})
	if err != nil {
		t.Fatal(err)
	}
	eos, _ := tk.EOS()
	bos, _ := tk.BOS()
	pad, _ := tk.PAD()
	if eos != 0 || bos != 2 || pad != 3 {
		t.Errorf("eos %d bos %d pad %d, want 0 2 3", eos, bos, pad)
	}
	if got := tk.EncodeWithSpecialTokens("hello"); got[0] != bos || !tk.AddsBOS() {
		t.Errorf("EncodeWithSpecialTokens = %v, want BOS first", got)
	}
	if got := tk.StopTokens(); !reflect.DeepEqual(got, []int32{0, 1}) {
		t.Errorf("StopTokens = %v, want [0 1]", got)
	}
}
