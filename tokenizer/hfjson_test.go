package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// byteVocabJSON is a vocab object with the 256 byte tokens (ids in byte
// order, as GPT-2 has them) followed by extra tokens.
func byteVocabJSON(extra ...string) string {
	v := map[string]int{}
	for b := 0; b < 256; b++ {
		v[byteToString[b]] = b
	}
	for k, s := range extra {
		v[s] = 256 + k
	}
	out, _ := json.Marshal(v) // a map of strings to ints always marshals
	return string(out)
}

// gpt2JSON is a GPT-2-style tokenizer.json: ByteLevel pre-tokenizer, merges
// as "a b" strings, <|endoftext|> in the vocab and in added_tokens.
func gpt2JSON() string {
	return `{
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [{"id": 262, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true}],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": false,
    "vocab": ` + byteVocabJSON("Ġt", "he", "Ġthe", "Ġhe", "ĠĠ", "<|endoftext|>") + `,
    "merges": ["Ġ t", "h e", "Ġt he", "Ġ he"]}
}`
}

// llama3JSON is a Llama-3-style tokenizer.json: Split + ByteLevel(use_regex
// false), merges as pairs, ignore_merges, specials only in added_tokens,
// TemplateProcessing with <|begin_of_text|>.
func llama3JSON() string {
	return `{
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 262, "content": "<|begin_of_text|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 263, "content": "<|end_of_text|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 264, "content": "<|start_header_id|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 265, "content": "<|end_header_id|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 266, "content": "<|eot_id|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": null,
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": ` + jsonString(PatternLlama3) + `}, "behavior": "Isolated", "invert": false},
    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
  "post_processor": {"type": "Sequence", "processors": [
    {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
    {"type": "TemplateProcessing",
     "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
     "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
     "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [262], "tokens": ["<|begin_of_text|>"]}}}]},
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
    "vocab": ` + byteVocabJSON("he", "ll", "hell", "Ġhello", "12") + `,
    "merges": [["h", "e"], ["l", "l"], ["he", "ll"], ["1", "2"]]}
}`
}

const llama3Config = `{
  "bos_token": "<|begin_of_text|>",
  "eos_token": {"__type": "AddedToken", "content": "<|eot_id|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
  "pad_token": null,
  "model_max_length": 8192,
  "chat_template": [{"name": "default", "template": ` + "\"{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\\\n\\\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\\\n\\\\n' }}{% endif %}\"" + `},
                    {"name": "tool_use", "template": "TOOLS {{ messages[0]['content'] }}"}],
  "tokenizer_class": "PreTrainedTokenizerFast"
}`

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func tokens(tk *Tokenizer, ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i], _ = tk.Token(id)
	}
	return out
}

func TestLoadGPT2Style(t *testing.T) {
	tk, err := Load(writeDir(t, map[string]string{"tokenizer.json": gpt2JSON()}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want []string
	}{
		{"the the", []string{"t", "he", "Ġthe"}},
		{" he<|endoftext|>", []string{"Ġhe", "<|endoftext|>"}},
		{"  the", []string{"Ġ", "Ġthe"}}, // "ĠĠ" is in the vocab but no merge makes it
	}
	for _, tc := range tests {
		ids := tk.Encode(tc.in)
		if got := tokens(tk, ids); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Encode(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back := tk.Decode(ids); back != tc.in {
			t.Errorf("Decode(Encode(%q)) = %q", tc.in, back)
		}
	}
	if tk.VocabSize() != 263 {
		t.Errorf("VocabSize %d, want 263", tk.VocabSize())
	}
	if _, ok := tk.BOS(); ok {
		t.Error("GPT-2 style without config has no BOS")
	}
	if got := tk.Merges(); !reflect.DeepEqual(got, []string{"Ġ t", "h e", "Ġt he", "Ġ he"}) {
		t.Errorf("Merges %q", got)
	}
	if got := tk.EncodeWithSpecialTokens("he"); !reflect.DeepEqual(tokens(tk, got), []string{"he"}) {
		t.Errorf("GPT-2 adds no special tokens, got %q", tokens(tk, got))
	}
}

func TestLoadLlama3Style(t *testing.T) {
	tk, err := Load(writeDir(t, map[string]string{"tokenizer.json": llama3JSON(), "tokenizer_config.json": llama3Config,
		"generation_config.json": `{"eos_token_id": [263, 266]}`}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want []string
	}{
		{" hello", []string{"Ġhello"}},               // ignore_merges: a whole piece in the vocab wins
		{"hello", []string{"hell", "o"}},             // merges: he ll -> hell
		{"12345", []string{"12", "3", "4", "5"}},     // \p{N}{1,3}: "123" "45"
		{"<|eot_id|>x", []string{"<|eot_id|>", "x"}}, // special tokens split out first
	}
	for _, tc := range tests {
		ids := tk.Encode(tc.in)
		if got := tokens(tk, ids); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Encode(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back := tk.Decode(ids); back != tc.in {
			t.Errorf("Decode(Encode(%q)) = %q", tc.in, back)
		}
	}
	if got := tk.EncodeWithSpecialTokens(" hello"); !reflect.DeepEqual(got, []int32{262, 259}) {
		t.Errorf("EncodeWithSpecialTokens = %v, want [262 259] (BOS from TemplateProcessing)", got)
	}
	bos, _ := tk.BOS()
	eos, _ := tk.EOS()
	if _, ok := tk.PAD(); bos != 262 || eos != 266 || ok || !tk.AddsBOS() {
		t.Errorf("bos %d eos %d pad set %v", bos, eos, ok)
	}
	if got := tk.StopTokens(); !reflect.DeepEqual(got, []int32{266, 263}) {
		t.Errorf("StopTokens = %v, want [266 263]", got)
	}
	if got := tk.EncodeOrdinary("<|eot_id|>"); len(got) < 3 || tk.Decode(got) != "<|eot_id|>" {
		t.Errorf("EncodeOrdinary must spell out special tokens, got %q", tokens(tk, got))
	}
	if got := tk.DecodeSkipSpecial(tk.EncodeWithSpecialTokens("12<|eot_id|>")); got != "12" {
		t.Errorf("DecodeSkipSpecial = %q", got)
	}
	chat, err := tk.ApplyChatTemplate([]Message{{"user", " hi "}}, true)
	want := "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
	if err != nil || chat != want {
		t.Errorf("default named template: %q, %v; want %q", chat, err, want)
	}
	if err := tk.SetChatTemplate("tool_use"); err != nil {
		t.Fatal(err)
	}
	if chat, _ := tk.ApplyChatTemplate([]Message{{"user", "x"}}, false); chat != "TOOLS x" {
		t.Errorf("named template tool_use rendered %q", chat)
	}
}

func TestConfigAddBOSOverride(t *testing.T) {
	tk, err := Load(writeDir(t, map[string]string{"tokenizer.json": llama3JSON(),
		"tokenizer_config.json": `{"bos_token": "<|begin_of_text|>", "add_bos_token": false, "add_eos_token": true, "eos_token": "<|end_of_text|>"}`}))
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.EncodeWithSpecialTokens("12"); !reflect.DeepEqual(got, []int32{260, 263}) {
		t.Errorf("add_bos_token false, add_eos_token true: got %v, want [260 263]", got)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"gpt2":   {"tokenizer.json": gpt2JSON()},
		"llama3": {"tokenizer.json": llama3JSON(), "tokenizer_config.json": llama3Config},
	} {
		t.Run(name, func(t *testing.T) {
			a, err := Load(writeDir(t, files))
			if err != nil {
				t.Fatal(err)
			}
			b, dir := saveAndLoad(t, a)
			for _, s := range []string{"the hello 12345 <|eot_id|><|endoftext|>", " he  the\n\n x", "\xff\x00日本"} {
				if x, y := a.Encode(s), b.Encode(s); !reflect.DeepEqual(x, y) {
					t.Errorf("%q: %v before save, %v after", s, x, y)
				}
				if x, y := a.EncodeWithSpecialTokens(s), b.EncodeWithSpecialTokens(s); !reflect.DeepEqual(x, y) {
					t.Errorf("%q with special tokens: %v before save, %v after", s, x, y)
				}
			}
			if !reflect.DeepEqual(a.Vocab(), b.Vocab()) || !reflect.DeepEqual(a.Merges(), b.Merges()) ||
				!reflect.DeepEqual(a.StopTokens(), b.StopTokens()) || a.ChatTemplate() != b.ChatTemplate() {
				t.Error("vocab, merges, stop tokens or chat template changed through Save and Load")
			}
			dir2 := t.TempDir()
			if err := b.Save(dir2); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
				x, _ := os.ReadFile(filepath.Join(dir, f))
				y, _ := os.ReadFile(filepath.Join(dir2, f))
				if !bytes.Equal(x, y) {
					t.Errorf("%s differs between the first and second save", f)
				}
			}
		})
	}
}

func TestSavedFilesFollowHFFormat(t *testing.T) {
	tk := trainTiny(t, 1000, 0)
	dir := t.TempDir()
	if err := tk.Save(dir); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	var j map[string]json.RawMessage
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatalf("tokenizer.json is not JSON: %v", err)
	}
	for _, k := range []string{"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"} {
		if _, ok := j[k]; !ok {
			t.Errorf("tokenizer.json lacks %q", k)
		}
	}
	for _, want := range []string{`"type": "BPE"`, `"Ġaa b"`, `"<|endoftext|>": 0`, `"type": "ByteLevel"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("tokenizer.json lacks %s", want)
		}
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	var c map[string]any
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	if c["tokenizer_class"] != "PreTrainedTokenizerFast" || c["eos_token"] != "<|endoftext|>" || c["clean_up_tokenization_spaces"] != false {
		t.Errorf("tokenizer_config.json: %s", cfg)
	}
	if _, ok := c["chat_template"].(string); !ok {
		t.Error("tokenizer_config.json has no chat_template")
	}
}

func TestNFCNormalizer(t *testing.T) {
	js := strings.Replace(gpt2JSON(), `"normalizer": null`, `"normalizer": {"type": "NFC"}`, 1)
	tk, err := ParseJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	composed, decomposed := "caf\u00e9 the", "cafe\u0301 the"
	if a, b := tk.Encode(composed), tk.Encode(decomposed); !reflect.DeepEqual(a, b) {
		t.Errorf("NFC: %v vs %v", a, b)
	}
	ids, offs := tk.EncodeOffsets(decomposed)
	if len(ids) != len(offs) || offs[len(offs)-1][1] != len(decomposed) {
		t.Fatalf("offsets %v for %q", offs, decomposed)
	}
	// "é" (2 bytes) came from "e\u0301" (3 bytes): both its byte tokens map to that unit.
	for i, o := range offs {
		if o[0] < 0 || o[1] > len(decomposed) || o[0] > o[1] || (i > 0 && o[0] < offs[i-1][0]) {
			t.Errorf("bad offset %v at %d", o, i)
		}
	}
}

func TestParseErrors(t *testing.T) {
	base := gpt2JSON()
	tests := map[string]string{
		"wordpiece":                    strings.Replace(base, `"type": "BPE"`, `"type": "WordPiece"`, 1),
		"merge missing":                strings.Replace(base, `"Ġ he"]`, `"Ġ he", "x yz"]`, 1),
		"merged missing":               strings.Replace(base, `"Ġ he"]`, `"Ġ he", "x y"]`, 1),
		"byte fallback with ByteLevel": strings.Replace(base, `"fuse_unk": false,`, `"fuse_unk": false, "byte_fallback": true,`, 1),
		"huge id":                      strings.Replace(base, `"id": 262`, `"id": 2000000000`, 1),
		"sparse id":                    strings.Replace(base, `"id": 262`, `"id": 900000`, 1),
		"metaspace":                    strings.Replace(strings.Replace(base, `"pre_tokenizer": {"type": "ByteLevel"`, `"pre_tokenizer": {"type": "Metaspace"`, 1), `"decoder": {"type": "ByteLevel"`, `"decoder": {"type": "Metaspace"`, 1),
		"not json":                     base[:100],
		"bad pattern":                  strings.Replace(base, `"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}`, `"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"}`, 1),
	}
	for name, js := range tests {
		if js == base {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if _, err := ParseJSON([]byte(js)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("Load of an empty dir: %v", err)
	}
}

func TestAddedTokenFlags(t *testing.T) {
	js := strings.Replace(gpt2JSON(), `"added_tokens": [`, `"added_tokens": [
    {"id": 263, "content": "<mask>", "single_word": false, "lstrip": true, "rstrip": true, "normalized": false, "special": true},
    {"id": 264, "content": "hat", "single_word": true, "lstrip": false, "rstrip": false, "normalized": false, "special": false},`, 1)
	tk, err := ParseJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if got := tokens(tk, tk.Encode("he <mask>  the")); !reflect.DeepEqual(got, []string{"he", "<mask>", "t", "he"}) {
		t.Errorf("lstrip/rstrip: %q", got)
	}
	if got := tokens(tk, tk.Encode("hat that")); !reflect.DeepEqual(got, []string{"hat", "Ġt", "h", "a", "t"}) {
		t.Errorf("single_word: %q", got)
	}
	if got := tokens(tk, tk.EncodeOrdinary("hat")); !reflect.DeepEqual(got, []string{"hat"}) {
		t.Errorf("non-special added tokens stay recognised in EncodeOrdinary: %q", got)
	}
}

func TestMergeListForms(t *testing.T) {
	tests := []struct {
		in   string
		want [][2]string
		ok   bool
	}{
		{`[]`, [][2]string{}, true},
		{`["a b", "\u0120 t"]`, [][2]string{{"a", "b"}, {"Ġ", "t"}}, true},
		{` [ ["a", "b c"] , ["\"", "\\"] ] `, [][2]string{{"a", "b c"}, {`"`, `\`}}, true},
		{`["ab"]`, nil, false},
		{`[["a"]]`, nil, false},
		{`[["a", "b", "c"]]`, nil, false},
		{`[1]`, nil, false},
		{`{"a": "b"}`, nil, false},
	}
	for _, tc := range tests {
		var ml mergeList
		err := json.Unmarshal([]byte(tc.in), &ml)
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && !reflect.DeepEqual([][2]string(ml), tc.want) {
			t.Errorf("%s: %q, want %q", tc.in, ml, tc.want)
		}
	}
}

func TestAddPrefixSpace(t *testing.T) {
	js := strings.Replace(gpt2JSON(), `"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false`, `"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true`, 1)
	tk, err := ParseJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	ids, offs := tk.EncodeOffsets("the<|endoftext|>he")
	if got := tokens(tk, ids); !reflect.DeepEqual(got, []string{"Ġthe", "<|endoftext|>", "Ġhe"}) {
		t.Errorf("add_prefix_space: %q (each segment between added tokens gets the space, as in HF)", got)
	}
	if !reflect.DeepEqual(offs, [][2]int{{0, 3}, {3, 16}, {16, 18}}) {
		t.Errorf("offsets %v: the inserted space must map to no input bytes", offs)
	}
	if got := tk.Decode(ids); got != " the<|endoftext|> he" {
		t.Errorf("decode %q", got)
	}
}

// saveAndLoad saves tok to a fresh directory and loads it back; it
// returns the loaded tokenizer and the directory.
func saveAndLoad(t *testing.T, tok *Tokenizer) (*Tokenizer, string) {
	t.Helper()
	dir := t.TempDir()
	if err := tok.Save(dir); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatalf("load saved: %v", err)
	}
	return b, dir
}
