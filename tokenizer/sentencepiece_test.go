package tokenizer

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// spmVocabJSON is a SentencePiece-style vocab: <unk> <s> </s>, the 256 byte
// tokens <0x00>..<0xFF> (ids 3..258), then extra tokens from id 259.
func spmVocabJSON(extra ...string) string {
	v := map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2}
	for b := range 256 {
		v[byteTokenName(byte(b))] = 3 + b
	}
	for k, s := range extra {
		v[s] = 259 + k
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a map of strings to ints always encodes
	return strings.TrimSpace(b.String())
}

// spmChars are the characters of the test vocabulary; "é", emoji, "\n"
// and most letters are not there and fall back to bytes.
var spmChars = []string{"▁", "H", "e", "l", "o", "w", "r", "d", "h", "t", "a", "c", "f"}

// spmMerges in rank order, with what they make.
var spmMerges = [][2]string{
	{"▁", "▁"}, {"l", "l"}, {"e", "ll"}, {"H", "ell"}, {"Hell", "o"}, {"▁", "Hello"},
	{"o", "r"}, {"w", "or"}, {"wor", "l"}, {"worl", "d"}, {"▁", "world"},
	{"▁", "t"}, {"h", "e"}, {"▁t", "he"}, {"c", "a"}, {"ca", "f"},
}

const (
	// spmLegacy is how convert_slow_tokenizer writes Llama-2 and TinyLlama.
	spmLegacyNormalizer = `{"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}`
	spmLegacyDecoder    = `{"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}`
	// spmMetaspacePre is how newer files (Mistral-7B v0.3 style) write it.
	spmMetaspacePre = `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}`
)

// spmJSON is a SentencePiece-style tokenizer.json with the given
// normalizer, pre_tokenizer and decoder and extra merges after spmMerges.
func spmJSON(normalizer, pre, decoder string, extra ...[2]string) string {
	var tokens []string
	tokens = append(tokens, spmChars...)
	merges := append(append([][2]string(nil), spmMerges...), extra...)
	for _, m := range merges {
		tokens = append(tokens, m[0]+m[1])
	}
	ml, _ := json.Marshal(merges)
	return `{
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
  "normalizer": ` + normalizer + `,
  "pre_tokenizer": ` + pre + `,
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
  "decoder": ` + decoder + `,
  "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": null,
    "fuse_unk": true, "byte_fallback": true,
    "vocab": ` + spmVocabJSON(tokens...) + `,
    "merges": ` + string(ml) + `}
}`
}

func spmLegacyJSON() string { return spmJSON(spmLegacyNormalizer, "null", spmLegacyDecoder) }

func spmMetaspaceJSON() string { return spmJSON("null", spmMetaspacePre, spmLegacyDecoder) }

func mustParse(t testing.TB, js string) *Tokenizer {
	t.Helper()
	tk, err := ParseJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// spmCase is one encoding worked out by hand, and what decoding it gives
// (the input itself when decoded is "").
type spmCase struct {
	in      string
	want    []string
	decoded string
}

func checkSPMCases(t *testing.T, tk *Tokenizer, cases []spmCase) {
	t.Helper()
	for _, tc := range cases {
		ids := tk.Encode(tc.in)
		if got := tokens(tk, ids); !reflect.DeepEqual(got, tc.want) && (len(got) > 0 || len(tc.want) > 0) {
			t.Errorf("Encode(%q) = %q, want %q", tc.in, got, tc.want)
		}
		want := tc.decoded
		if want == "" {
			want = tc.in
		}
		if got := tk.Decode(ids); got != want {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", tc.in, got, want)
		}
	}
}

func TestSentencePieceLegacy(t *testing.T) {
	tk := mustParse(t, spmLegacyJSON())
	if !tk.ByteFallback() || !tk.model.splitMeta {
		t.Fatalf("ByteFallback %v, splitMeta %v", tk.ByteFallback(), tk.model.splitMeta)
	}
	checkSPMCases(t, tk, []spmCase{
		{"Hello world", []string{"▁Hello", "▁world"}, ""},
		{"Hello  world", []string{"▁Hello", "▁▁", "world"}, ""}, // "▁ ▁" ranks before "▁ world"
		{" Hello", []string{"▁▁", "Hello"}, ""},                 // Prepend adds "▁" even before a space
		{"the cafe", []string{"▁the", "▁", "caf", "e"}, ""},
		{"é", []string{"▁", "<0xC3>", "<0xA9>"}, ""},
		{"café 😀", []string{"▁", "caf", "<0xC3>", "<0xA9>", "▁", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>"}, ""},
		{"\n", []string{"▁", "<0x0A>"}, ""},
		{"Hello\nworld", []string{"▁Hello", "<0x0A>", "world"}, ""},
		{"", nil, ""},
		// Added tokens split the text first; each segment gets its own "▁",
		// and the strip applies to the start of the whole text only.
		{"Hello</s>world", []string{"▁Hello", "</s>", "▁world"}, "Hello</s> world"},
		{"<s>Hello", []string{"<s>", "▁Hello"}, "<s> Hello"},
	})
	if got := tk.EncodeWithSpecialTokens("Hello"); !reflect.DeepEqual(tokens(tk, got), []string{"<s>", "▁Hello"}) || !tk.AddsBOS() {
		t.Errorf("EncodeWithSpecialTokens = %q, want BOS first", tokens(tk, got))
	}
	if got := tk.DecodeSkipSpecial(tk.EncodeWithSpecialTokens("Hello world")); got != "Hello world" {
		t.Errorf("DecodeSkipSpecial = %q", got)
	}
	if got := tokens(tk, tk.EncodeOrdinary("</s>")); !reflect.DeepEqual(got, []string{"▁", "<0x3C>", "<0x2F>", "<0x73>", "<0x3E>"}) {
		t.Errorf("EncodeOrdinary spells special tokens out: %q", got)
	}
	// Streaming token by token keeps spaces and reassembles bytes.
	var b strings.Builder
	for _, id := range tk.Encode("Hello café") {
		b.WriteString(tk.TokenText(id))
	}
	if b.String() != " Hello café" {
		t.Errorf("TokenText stream %q", b.String())
	}
	// A run of byte tokens that is not UTF-8 becomes one U+FFFD per byte.
	h, _ := tk.TokenID("▁Hello")
	if got := tk.Decode([]int32{h, 3 + 0xC3, 3 + 0xFF, h}); got != "Hello\uFFFD\uFFFD Hello" {
		t.Errorf("invalid byte run decodes to %q", got)
	}
}

func TestSentencePieceMetaspace(t *testing.T) {
	tk := mustParse(t, spmMetaspaceJSON())
	checkSPMCases(t, tk, []spmCase{
		{"Hello world", []string{"▁Hello", "▁world"}, ""},
		{"Hello  world", []string{"▁Hello", "▁▁", "world"}, ""},
		{" Hello", []string{"▁Hello"}, "Hello"}, // no "▁" before one already there
		{"é", []string{"▁", "<0xC3>", "<0xA9>"}, ""},
		{"\n", []string{"▁", "<0x0A>"}, ""},
		{"", nil, ""},
		// prepend_scheme "first": only the segment at the start of the input.
		{"Hello</s>world", []string{"▁Hello", "</s>", "world"}, ""},
		{"<s>Hello world", []string{"<s>", "Hello", "▁world"}, ""},
	})
	always := mustParse(t, spmJSON("null", `{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}`, `{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}`))
	// The old form: prepend always, split on every "▁" (so "▁▁" never forms);
	// the Metaspace decoder drops every "▁" of the first token.
	checkSPMCases(t, always, []spmCase{
		{"Hello  world", []string{"▁Hello", "▁", "▁world"}, ""},
		{"Hello</s>world", []string{"▁Hello", "</s>", "▁world"}, "Hello</s> world"},
		{"é", []string{"▁", "<0xC3>", "<0xA9>"}, "<0xC3><0xA9>"}, // no ByteFallback decoder
	})
}

func TestSentencePieceOffsets(t *testing.T) {
	for name, js := range map[string]string{"legacy": spmLegacyJSON(), "metaspace": spmMetaspaceJSON()} {
		tk := mustParse(t, js)
		for _, tc := range []struct {
			in   string
			want [][2]int
		}{
			{"Hello world", [][2]int{{0, 5}, {5, 11}}},
			{"Hello</s>é", [][2]int{{0, 5}, {5, 9}, {9, 9}, {9, 10}, {10, 11}}},
		} {
			ids, offs := tk.EncodeOffsets(tc.in)
			if name == "metaspace" && strings.Contains(tc.in, "</s>") {
				tc.want = append(tc.want[:2:2], [2]int{9, 10}, [2]int{10, 11}) // no "▁" after </s>
			}
			if !reflect.DeepEqual(offs, tc.want) || len(ids) != len(offs) {
				t.Errorf("%s: EncodeOffsets(%q) = %v %v, want %v", name, tc.in, tokens(tk, ids), offs, tc.want)
			}
		}
	}
}

func TestSentencePieceUnknown(t *testing.T) {
	// Without <0xA9> "é" has no fallback: it becomes <unk>, fused with its
	// unknown neighbours, and, as in tokenizers, added after the byte tokens
	// of "ü" that came before the next known character.
	js := strings.Replace(spmLegacyJSON(), `"<0xA9>":`, `"<0xA9>x":`, 1)
	tk := mustParse(t, js)
	checkSPMCases(t, tk, []spmCase{
		{"éé", []string{"▁", "<unk>"}, "<unk>"},
		{"éüé", []string{"▁", "<0xC3>", "<0xBC>", "<unk>"}, "ü<unk>"},
		{"éHello", []string{"▁", "<unk>", "Hello"}, "<unk>Hello"},
	})
	ids, offs := tk.EncodeOffsets("éé")
	if !reflect.DeepEqual(offs, [][2]int{{0, 0}, {0, 4}}) {
		t.Errorf("offsets of a fused unknown: %v %v", tokens(tk, ids), offs)
	}
	unfused := mustParse(t, strings.Replace(js, `"fuse_unk": true`, `"fuse_unk": false`, 1))
	if got := tokens(unfused, unfused.Encode("éé")); !reflect.DeepEqual(got, []string{"▁", "<unk>", "<unk>"}) {
		t.Errorf("fuse_unk false: %q", got)
	}
}

// TestSentencePieceCrossingMerge: a merge that joins a character to the
// "▁" after it turns word-by-word merging off, and is applied.
func TestSentencePieceCrossingMerge(t *testing.T) {
	tk := mustParse(t, spmJSON(spmLegacyNormalizer, "null", spmLegacyDecoder, [2]string{"o", "▁"}))
	if !reflect.DeepEqual(tk.model.metaBefore, map[rune]bool{'o': true}) {
		t.Fatalf("metaBefore %v with a merge making \"o▁\"", tk.model.metaBefore)
	}
	checkSPMCases(t, tk, []spmCase{
		{"o o", []string{"▁", "o▁", "o"}, ""},
		{"Hello world", []string{"▁Hello", "▁world"}, ""}, // "Hell o" ranks before "o ▁"
		{"a o", []string{"▁", "a", "▁", "o"}, ""},
	})
	whole := mustParse(t, spmJSON(spmLegacyNormalizer, "null", spmLegacyDecoder, [2]string{"o", "▁"}))
	whole.model.splitMeta = false
	rng := rand.New(rand.NewSource(4))
	for range 2000 {
		s := randomSPMText(rng)
		if a, b := tk.Encode(s), whole.Encode(s); !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: word by word %q, whole %q", s, tokens(tk, a), tokens(whole, b))
		}
	}
}

// randomSPMText draws from the fixture's characters, spaces, newlines and
// characters that need byte fallback.
func randomSPMText(rng *rand.Rand) string {
	alphabet := []string{" ", " ", "  ", "\n", "H", "e", "l", "o", "w", "r", "d", "h", "t", "a", "c", "f", "é", "😀", "日", "x", "Hello", " world", " the", "\t"}
	var b strings.Builder
	for n := rng.Intn(12); n > 0; n-- {
		b.WriteString(alphabet[rng.Intn(len(alphabet))])
	}
	return b.String()
}

// spmRoundTrips says whether Decode(Encode(s)) == s is promised: valid
// UTF-8 without "▁" and without added tokens, and for prepend_scheme
// "first" not starting with a space (which the "▁" in front then stands for).
func spmRoundTrips(tk *Tokenizer, s string) bool {
	if !utf8.ValidString(s) || strings.Contains(s, metaChar) {
		return false
	}
	for _, a := range tk.added {
		if strings.Contains(s, a.Content) {
			return false
		}
	}
	return tk.meta == nil || !strings.HasPrefix(s, " ")
}

func checkSPMRoundTrip(t *testing.T, tk *Tokenizer, s string) {
	ids, offs := tk.EncodeOffsets(s)
	if !reflect.DeepEqual(ids, tk.Encode(s)) {
		t.Fatalf("EncodeOffsets(%q) and Encode disagree", s)
	}
	prev := 0
	for i, o := range offs {
		if o[0] != prev || o[1] < o[0] || o[1] > len(s) {
			t.Fatalf("EncodeOffsets(%q): token %d offset %v after %d", s, i, o, prev)
		}
		prev = o[1]
	}
	if prev != len(s) {
		t.Fatalf("EncodeOffsets(%q): offsets end at %d", s, prev)
	}
	if !spmRoundTrips(tk, s) {
		tk.Decode(ids)
		return
	}
	if got := tk.Decode(ids); got != s {
		t.Fatalf("Decode(Encode(%q)) = %q (%q)", s, got, tokens(tk, ids))
	}
}

func TestSentencePieceRandomRoundTrip(t *testing.T) {
	legacy, meta := mustParse(t, spmLegacyJSON()), mustParse(t, spmMetaspaceJSON())
	whole := mustParse(t, spmLegacyJSON())
	whole.model.splitMeta = false // merge every piece whole, as tokenizers does
	rng := rand.New(rand.NewSource(3))
	for range 3000 {
		s := randomSPMText(rng)
		checkSPMRoundTrip(t, legacy, s)
		checkSPMRoundTrip(t, meta, s)
		if a, b := legacy.Encode(s), whole.Encode(s); !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: word by word %q, whole %q", s, tokens(legacy, a), tokens(whole, b))
		}
	}
}

func FuzzSentencePieceRoundTrip(f *testing.F) {
	for _, s := range []string{"", "Hello world", "  the\n\n\tcafé 12345 ", "日本語 naïve", "<s>x</s>", "\xff\xfe", "▁x"} {
		f.Add(s)
	}
	legacy, meta := mustParse(f, spmLegacyJSON()), mustParse(f, spmMetaspaceJSON())
	f.Fuzz(func(t *testing.T, s string) {
		checkSPMRoundTrip(t, legacy, s)
		checkSPMRoundTrip(t, meta, s)
	})
}

func TestSentencePieceSaveLoad(t *testing.T) {
	for name, js := range map[string]string{"legacy": spmLegacyJSON(), "metaspace": spmMetaspaceJSON()} {
		t.Run(name, func(t *testing.T) {
			a, err := Load(writeDir(t, map[string]string{"tokenizer.json": js,
				"tokenizer_config.json": `{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": true, "tokenizer_class": "LlamaTokenizer"}`}))
			if err != nil {
				t.Fatal(err)
			}
			b, dir := saveAndLoad(t, a)
			for _, s := range []string{"Hello world", " the  café\n😀</s>x", "<s>Hello"} {
				if x, y := a.EncodeWithSpecialTokens(s), b.EncodeWithSpecialTokens(s); !reflect.DeepEqual(x, y) {
					t.Errorf("%q: %v before save, %v after", s, x, y)
				}
				if x, y := a.Decode(a.Encode(s)), b.Decode(b.Encode(s)); x != y {
					t.Errorf("%q decodes to %q before save, %q after", s, x, y)
				}
			}
			if !reflect.DeepEqual(a.Vocab(), b.Vocab()) || !reflect.DeepEqual(a.MergeIDs(), b.MergeIDs()) || !b.ByteFallback() {
				t.Error("vocab, merges or byte_fallback changed through Save and Load")
			}
			if u, ok := b.UNK(); !ok || u != 0 {
				t.Errorf("UNK = %d, %v", u, ok)
			}
			data, _ := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
			for _, want := range []string{`"byte_fallback": true`, `"type": "ByteFallback"`, `"<0x0A>": 13`} {
				if !strings.Contains(string(data), want) {
					t.Errorf("saved tokenizer.json lacks %s", want)
				}
			}
			dir2 := t.TempDir()
			if err := b.Save(dir2); err != nil {
				t.Fatal(err)
			}
			again, _ := os.ReadFile(filepath.Join(dir2, "tokenizer.json"))
			if !bytes.Equal(data, again) {
				t.Error("tokenizer.json differs between the first and second save")
			}
		})
	}
}

func TestSentencePieceParseErrors(t *testing.T) {
	base := spmLegacyJSON()
	for name, tc := range map[string]struct{ js, want string }{
		"byte-level decoder": {strings.Replace(base, `{"type": "ByteFallback"}`, `{"type": "ByteLevel"}`, 1), "ByteLevel"},
		"no decoder":         {spmJSON(spmLegacyNormalizer, "null", "null"), "needs a decoder"},
		"ctc decoder":        {strings.Replace(base, `{"type": "Fuse"}`, `{"type": "CTC"}`, 1), `"CTC"`},
		"regex replace":      {strings.Replace(base, `"pattern": {"String": " "}`, `"pattern": {"Regex": " "}`, 1), "String pattern"},
		"metaspace scheme":   {spmJSON("null", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}`, spmLegacyDecoder), "prepend_scheme"},
		"metaspace no bf":    {strings.Replace(spmMetaspaceJSON(), `"byte_fallback": true`, `"byte_fallback": false`, 1), "Metaspace pre_tokenizer without byte_fallback"},
		"nested metaspace":   {spmJSON("null", `{"type": "Sequence", "pretokenizers": [{"type": "Digits"}, `+spmMetaspacePre+`]}`, spmLegacyDecoder), `"Metaspace"`},
	} {
		if tc.js == base {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if _, err := ParseJSON([]byte(tc.js)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
}
