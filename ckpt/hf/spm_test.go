package hf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/ckpt/gguf"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// llama2TokenizerJSON is a small tokenizer.json in the form
// convert_slow_tokenizer writes for Llama-2 and TinyLlama: <unk> <s> </s>,
// the 256 byte tokens, characters and the merges of every token's splits
// (ids 259 on), with normalizer and pre_tokenizer as given.
func llama2TokenizerJSON(normalizer, pre string) string {
	vocab := map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2}
	for b := range 256 {
		vocab[fmt.Sprintf("<0x%02X>", b)] = 3 + b
	}
	merges := [][2]string{{"▁", "▁"}, {"l", "l"}, {"e", "ll"}, {"H", "ell"}, {"Hell", "o"}, {"▁", "Hello"},
		{"o", "r"}, {"w", "or"}, {"wor", "l"}, {"worl", "d"}, {"▁", "world"}}
	for _, c := range []string{"▁", "H", "e", "l", "o", "w", "r", "d"} {
		vocab[c] = len(vocab)
	}
	for _, m := range merges {
		vocab[m[0]+m[1]] = len(vocab)
	}
	var vb bytes.Buffer
	enc := json.NewEncoder(&vb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(vocab) // a map of strings to ints always encodes
	ml, _ := json.Marshal(merges)
	special := func(id int, s string) string {
		return fmt.Sprintf(`{"id": %d, "content": %q, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}`, id, s)
	}
	return `{"version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [` + special(0, "<unk>") + `, ` + special(1, "<s>") + `, ` + special(2, "</s>") + `],
  "normalizer": ` + normalizer + `,
  "pre_tokenizer": ` + pre + `,
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
  "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
  "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": null,
    "fuse_unk": true, "byte_fallback": true, "vocab": ` + strings.TrimSpace(vb.String()) + `, "merges": ` + string(ml) + `}}`
}

const (
	llama2Normalizer = `{"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}`
	llama2Config     = `{"add_bos_token": true, "add_eos_token": false, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "legacy": true, "tokenizer_class": "LlamaTokenizer"}`
)

// TestLoadSaveSentencePieceCheckpoint: a Llama checkpoint whose tokenizer
// is SentencePiece-style (TinyLlama, Llama-2) loads with its tokenizer, and
// Save writes the tokenizer back so that it loads the same.
func TestLoadSaveSentencePieceCheckpoint(t *testing.T) {
	cfg := model.LlamaConfig(288, 16, 2, 4, 2, 32, 40)
	src := randomModel(t, cfg, 5)
	dir := t.TempDir()
	writeSafetensors(t, filepath.Join(dir, "model.safetensors"), llamaTensors(src, false), "F32", 1)
	writeJSON(t, filepath.Join(dir, ConfigFile), llamaHFConfig(cfg, "llama"))
	for name, body := range map[string]string{"tokenizer.json": llama2TokenizerJSON(llama2Normalizer, "null"), "tokenizer_config.json": llama2Config} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok == nil || !tok.ByteFallback() {
		t.Fatal("no SentencePiece-style tokenizer loaded")
	}
	if !slices.Equal(logits(t, m), logits(t, src)) {
		t.Error("weights differ")
	}
	ids := tok.EncodeWithSpecialTokens("Hello world é")
	if tok.Decode(ids) != "<s> Hello world é" || tok.DecodeSkipSpecial(ids) != "Hello world é" {
		t.Errorf("Hello world é: %v decodes to %q", ids, tok.Decode(ids))
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := Save(out, m, tok); err != nil {
		t.Fatal(err)
	}
	_, back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.EncodeWithSpecialTokens("Hello world é"); !slices.Equal(got, ids) || !back.ByteFallback() || !slices.Equal(back.Vocab(), tok.Vocab()) {
		t.Errorf("saved tokenizer encodes %v, want %v", got, ids)
	}
}

// TestExportGGUFSentencePiece: a SentencePiece-style tokenizer goes to GGUF
// as llama.cpp's "llama" vocabulary: tokens as in tokenizer.json, byte,
// control and unknown types, scores that rank tokens as the merges do.
func TestExportGGUFSentencePiece(t *testing.T) {
	tok, err := tokenizer.ParseJSON([]byte(llama2TokenizerJSON(llama2Normalizer, "null")))
	if err != nil {
		t.Fatal(err)
	}
	cfg := model.LlamaConfig(288, 16, 1, 2, 2, 16, 24)
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := ExportGGUF(path, randomModel(t, cfg, 2), tok, GGUFOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for key, want := range map[string]any{"tokenizer.ggml.model": "llama", "tokenizer.ggml.add_space_prefix": true,
		"tokenizer.ggml.bos_token_id": uint32(1), "tokenizer.ggml.unknown_token_id": uint32(0), "tokenizer.ggml.add_bos_token": true} {
		if got, ok := r.Get(key); !ok || got != want {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	if _, ok := r.Get("tokenizer.ggml.merges"); ok {
		t.Error("an SPM vocabulary has no merges")
	}
	toks, _ := r.Get("tokenizer.ggml.tokens")
	types, _ := r.Get("tokenizer.ggml.token_type")
	scores, _ := r.Get("tokenizer.ggml.scores")
	tv, yv, sv := toks.([]string), types.([]int32), scores.([]float32)
	if len(tv) != 288 || len(yv) != 288 || len(sv) != 288 || tv[13] != "<0x0A>" || tv[287] != "[PAD287]" {
		t.Fatalf("%d tokens, %d types, %d scores; 13 = %q", len(tv), len(yv), len(sv), tv[13])
	}
	id := func(s string) int { i, _ := tok.TokenID(s); return int(i) }
	for _, c := range []struct {
		tok  string
		want int32
	}{{"<unk>", gguf.TokenUnknown}, {"<s>", gguf.TokenControl}, {"<0x0A>", gguf.TokenByte}, {"<0xFF>", gguf.TokenByte}, {"▁Hello", gguf.TokenNormal}} {
		if yv[id(c.tok)] != c.want {
			t.Errorf("type of %q = %d, want %d", c.tok, yv[id(c.tok)], c.want)
		}
	}
	if yv[280] != gguf.TokenUnused {
		t.Errorf("type of a padding id = %d", yv[280])
	}
	// llama.cpp joins the pair making the highest-scored token first: the
	// order of the merges.
	if !(sv[id("▁▁")] > sv[id("ll")] && sv[id("ll")] > sv[id("Hello")] && sv[id("Hello")] > sv[id("▁world")] && sv[id("▁world")] > sv[id("H")]) {
		t.Errorf("scores do not follow merge ranks: %v", sv[259:])
	}
}

func TestExportGGUFSentencePieceRefused(t *testing.T) {
	cfg := model.LlamaConfig(288, 16, 1, 2, 2, 16, 24)
	m := randomModel(t, cfg, 2)
	base := llama2TokenizerJSON(llama2Normalizer, "null")
	for name, tc := range map[string]struct{ js, want string }{
		"metaspace":     {llama2TokenizerJSON("null", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}`), "legacy form"},
		"missing byte":  {strings.Replace(base, `"<0x41>":`, `"<0x41>x":`, 1), "byte token <0x41>"},
		"missing merge": {strings.Replace(base, `["e","ll"],`, ``, 1), `"ell" splits into "e" and "ll"`},
	} {
		if tc.js == base {
			t.Fatalf("%s: replacement did not apply", name)
		}
		tok, err := tokenizer.ParseJSON([]byte(tc.js))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		err = ExportGGUF(filepath.Join(t.TempDir(), "x.gguf"), m, tok, GGUFOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
}
