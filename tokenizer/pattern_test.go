package tokenizer

import (
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/dlclark/regexp2/v2"
)

func splitAll(f fastPattern, s string) []string {
	var out []string
	splitFast(f, piece{s: s}, func(p piece) { out = append(out, p.s) })
	return out
}

func TestPatternKnownSplits(t *testing.T) {
	tests := []struct {
		f    fastPattern
		in   string
		want []string
	}{
		{fastGPT2, "Hello world", []string{"Hello", " world"}},
		{fastGPT2, "I'm here, they're 42!", []string{"I", "'m", " here", ",", " they", "'re", " 42", "!"}},
		{fastGPT2, "a  b", []string{"a", " ", " b"}},
		{fastGPT2, "a\n\nb", []string{"a", "\n", "\n", "b"}},
		{fastGPT2, "end   ", []string{"end", "   "}},
		{fastGPT2, "x\t y", []string{"x", "\t", " y"}},
		{fastGPT2, "?'s ''s", []string{"?'", "s", " ''", "s"}},
		{fastGPT2, "'S", []string{"'", "S"}},
		{fastGPT2, "1234abc", []string{"1234", "abc"}},
		{fastGPT2, "日本語 テキスト", []string{"日本語", " テキスト"}},
		{fastGPT2, "\xff\xfeab", []string{"\xff\xfe", "ab"}},
		{fastLlama3, "Hello world", []string{"Hello", " world"}},
		{fastLlama3, "I'M here", []string{"I", "'M", " here"}},
		{fastLlama3, "12345", []string{"123", "45"}},
		{fastLlama3, "?abc\tdef", []string{"?abc", "\tdef"}},
		{fastLlama3, "x ...\n\ny", []string{"x", " ...\n\n", "y"}},
		{fastLlama3, "a \n \nb", []string{"a", " \n \n", "b"}},
		{fastLlama3, "a  \t b", []string{"a", "  \t", " b"}},
		{fastLlama3, "'abc", []string{"'abc"}},
		{fastLlama3, "x\r\ny", []string{"x", "\r\n", "y"}},
		{fastQwen2, "12345", []string{"1", "2", "3", "4", "5"}},
		{fastQwen2, "it's 3.14", []string{"it", "'s", " ", "3", ".", "1", "4"}},
	}
	for _, tc := range tests {
		if got := splitAll(tc.f, tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("pattern %d on %q: got %q, want %q", tc.f, tc.in, got, tc.want)
		}
	}
}

// regexSplits is the reference: the pattern's matches by regexp2.
func regexSplits(t testing.TB, re *regexp2.Regexp, s string) []string {
	idx, err := re.FindAllStringIndex(s, -1)
	if err != nil {
		t.Fatalf("regexp2 on %q: %v", s, err)
	}
	var out []string
	for _, m := range idx {
		out = append(out, s[m[0]:m[1]])
	}
	return out
}

// patternAlphabet mixes every rune class the patterns distinguish.
var patternAlphabet = []string{
	"a", "Z", "é", "ß", "日", "ſ", "'", "s", "t", "re", "ve", "ll", "d", "m", "S", "T", "RE", "Ll",
	" ", " ", " ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u2028", "\v", "\f", "\x85",
	"0", "7", "٣", "½", "Ⅻ", ".", ",", "!", "?", "-", "_", "😀", "\u0301", "\xff", "\xc3", "�", "\x00",
}

func randomPatternText(rng *rand.Rand) string {
	var b strings.Builder
	for n := rng.Intn(16); n >= 0; n-- {
		b.WriteString(patternAlphabet[rng.Intn(len(patternAlphabet))])
	}
	return b.String()
}

var patternCases = []struct {
	f       fastPattern
	pattern string
}{{fastGPT2, PatternGPT2}, {fastLlama3, PatternLlama3}, {fastQwen2, PatternQwen2}}

func TestPatternsMatchRegex(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, pc := range patternCases {
		re := regexp2.MustCompile(pc.pattern, regexp2.None)
		for i := 0; i < 3000; i++ {
			s := randomPatternText(rng)
			got, want := splitAll(pc.f, s), regexSplits(t, re, s)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("pattern %d on %q: got %q, regexp2 %q", pc.f, s, got, want)
			}
		}
	}
}

func FuzzPatterns(f *testing.F) {
	for _, s := range []string{"Hello world", "I'm  here\n\n  x", "12345 ...\r\n", "'S \xff\xfe ſ"} {
		f.Add(s)
	}
	res := make([]*regexp2.Regexp, len(patternCases))
	for k, pc := range patternCases {
		res[k] = regexp2.MustCompile(pc.pattern, regexp2.None)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		for k, pc := range patternCases {
			got, want := splitAll(pc.f, s), regexSplits(t, res[k], s)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("pattern %d on %q: got %q, regexp2 %q", pc.f, s, got, want)
			}
		}
	})
}
