package tokenizer

import (
	"strings"
	"testing"
)

func checkRoundTrip(t *testing.T, tk *Tokenizer, s string) {
	ids := tk.Encode(s)
	if got := tk.Decode(ids); got != s {
		t.Fatalf("Decode(Encode(%q)) = %q", s, got)
	}
	if got := tk.Decode(tk.EncodeOrdinary(s)); got != s {
		t.Fatalf("Decode(EncodeOrdinary(%q)) = %q", s, got)
	}
	ids2, offs := tk.EncodeOffsets(s)
	if len(ids2) != len(ids) || len(offs) != len(ids) {
		t.Fatalf("EncodeOffsets(%q): %d ids, %d offsets; Encode gave %d", s, len(ids2), len(offs), len(ids))
	}
	prev := 0
	for i, o := range offs {
		if ids2[i] != ids[i] || o[0] != prev || o[1] < o[0] || o[1] > len(s) {
			t.Fatalf("EncodeOffsets(%q): token %d offset %v after %d", s, i, o, prev)
		}
		if s[o[0]:o[1]] != tk.Decode(ids[i:i+1]) {
			t.Fatalf("EncodeOffsets(%q): token %d covers %q but decodes to %q", s, i, s[o[0]:o[1]], tk.Decode(ids[i:i+1]))
		}
		prev = o[1]
	}
	if prev != len(s) {
		t.Fatalf("EncodeOffsets(%q): offsets end at %d", s, prev)
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "  the\n\n\tcat's 12345 ", "\xff\xfe\x00 invalid \xc3(", "日本語 naïve",
		"<|im_start|>user\nhi<|im_end|>", "<|endoftext|", strings.Repeat("ab", 100)} {
		f.Add(s)
	}
	trained := trainedTokenizer(f)
	llama, err := ParseJSON([]byte(llama3JSON()))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkRoundTrip(t, trained, s)
		checkRoundTrip(t, llama, s)
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(gpt2JSON()))
	f.Add([]byte(llama3JSON()))
	f.Add([]byte(spmLegacyJSON()))
	f.Add([]byte(spmMetaspaceJSON()))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 16000000}, "merges": []}, "decoder": {"type": "ByteLevel"}}`))
	f.Add([]byte(`{"added_tokens": [{"id": 2147483647, "content": "x"}], "model": {"vocab": {}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}`))
	f.Add([]byte(`{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "MergedWithNext", "invert": true}, {"type": "Digits"}, {"type": "ByteLevel"}]}, "model": {"vocab": {"a": 0, "aa": 1}, "merges": ["a a"]}}`))
	f.Add([]byte(`{"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]}, "pre_tokenizer": {"type": "Punctuation", "behavior": "Contiguous"}, "decoder": {"type": "ByteLevel"}, "model": {"vocab": {"Ġ": 0}, "merges": [["Ġ", "Ġ"]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		tk, err := ParseJSON(data)
		if err != nil {
			return
		}
		for _, s := range []string{"Hello  world 123", "aaaa", "\xff<|eot_id|>x", "İstanbul Ⅻ"} {
			ids := tk.Encode(s)
			tk.Decode(ids)
			tk.DecodeSkipSpecial(ids)
			tk.EncodeWithSpecialTokens(s)
			if _, offs := tk.EncodeOffsets(s); len(offs) != len(ids) {
				t.Fatalf("EncodeOffsets gave %d offsets for %d ids", len(offs), len(ids))
			}
		}
		tk.Vocab()
		tk.Merges()
		back, err := ParseJSON(tk.marshalTokenizerJSON())
		if err != nil {
			t.Fatalf("a parsed tokenizer.json does not survive Save: %v", err)
		}
		if back.VocabSize() != tk.VocabSize() {
			t.Fatalf("vocab size %d after Save, %d before", back.VocabSize(), tk.VocabSize())
		}
	})
}
