package serve

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/tokenizer"
)

// spmTokenizer is a small SentencePiece-style tokenizer (Llama-2's legacy
// tokenizer.json form): <unk> <s> </s>, byte tokens <0x00>..<0xFF>, the
// letters of "Hello world" and the merges that make "▁Hello" and "▁world".
func spmTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	vocab := map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2}
	for b := range 256 {
		vocab[fmt.Sprintf("<0x%02X>", b)] = 3 + b
	}
	merges := [][2]string{{"l", "l"}, {"e", "ll"}, {"H", "ell"}, {"Hell", "o"}, {"▁", "Hello"},
		{"o", "r"}, {"w", "or"}, {"wor", "l"}, {"worl", "d"}, {"▁", "world"}}
	next := 259
	for _, tok := range []string{"▁", "H", "e", "l", "o", "w", "r", "d"} {
		vocab[tok] = next
		next++
	}
	for _, m := range merges {
		vocab[m[0]+m[1]] = next
		next++
	}
	special := func(id int, s string) map[string]any {
		return map[string]any{"id": id, "content": s, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
	}
	doc := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens":  []any{special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")},
		"normalizer":    json.RawMessage(`{"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}`),
		"pre_tokenizer": nil,
		"post_processor": json.RawMessage(`{"type": "TemplateProcessing",
			"single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
			"pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
			"special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}`),
		"decoder": json.RawMessage(`{"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}`),
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": "<unk>", "continuing_subword_prefix": nil, "end_of_word_suffix": nil,
			"fuse_unk": true, "byte_fallback": true, "vocab": vocab, "merges": merges},
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestSentencePieceText checks the text serve gives SentencePiece-style
// tokens, which decoding one at a time gets wrong: a generated "▁world"
// adds " world" (decoded alone it is "world"), the two byte tokens of "é"
// add its two bytes (decoded alone, each is U+FFFD), a special token adds
// nothing; and an echoed prompt's pieces join to the prompt's text, so
// that its text offsets count in it.
func TestSentencePieceText(t *testing.T) {
	tok := spmTokenizer(t)
	f := newFixtureTok(t, Config{}, tok)
	id := func(s string) int32 {
		i, ok := tok.TokenID(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		return i
	}
	for _, c := range []struct {
		tok, want string
	}{{"▁world", " world"}, {"▁Hello", " Hello"}, {"<0xC3>", "\xc3"}, {"<0xA9>", "\xa9"}, {"</s>", ""}} {
		if got := f.s.pieceText(id(c.tok)); got != c.want {
			t.Errorf("pieceText(%s) = %q, want %q", c.tok, got, c.want)
		}
	}

	text := "Hello world é"
	ids := append(tok.SpecialPrefix(), tok.Encode(text)...)
	pieces := f.s.promptPieces(ids, len(tok.SpecialPrefix()), text)
	if got := strings.Join(pieces, ""); got != text {
		t.Errorf("prompt pieces %q join to %q, want %q", pieces, got, text)
	}

	var r complReply
	f.postOK(t, "/v1/completions", map[string]any{"prompt": "Hello world", "echo": true, "logprobs": 1, "max_tokens": 4, "temperature": 0}, &r)
	lp := r.Choices[0].Logprobs
	if r.Choices[0].Text[:len("Hello world")] != "Hello world" || len(lp.TextOffset) < 3 || lp.TextOffset[1] != 0 || lp.TextOffset[2] != 5 {
		t.Errorf("echo %q: tokens %q at offsets %v; want \"Hello\" at 0 and \" world\" at 5", r.Choices[0].Text, lp.Tokens, lp.TextOffset)
	}
}
