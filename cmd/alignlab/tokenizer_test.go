package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenizerTrainEncodeDecode(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	text := strings.Repeat("The cat sat on the mat. The dog ate 42 bones!\n", 50)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonl := filepath.Join(dir, "more.jsonl")
	// A leading UTF-8 BOM (an editor's) is skipped, not a malformed row.
	if err := os.WriteFile(jsonl, []byte("\ufeff"+`{"text": "naïve café"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(dir, "tok")
	if _, err := runCLI(t, "tokenizer", "train", "--corpus", corpus, "--corpus", jsonl, "--vocab-size", "300", "--out", tok); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(tok, f)); err != nil {
			t.Fatalf("train wrote no %s", f)
		}
	}
	in := "The cat ate the bones<|im_end|>\n\xff"
	ids, err := runCLI(t, "tokenizer", "encode", "--tokenizer", tok, in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(" "+ids, " 2 ") {
		t.Errorf("<|im_end|> (id 2) not in %q", ids)
	}
	back, err := runCLI(t, "tokenizer", "decode", "--tokenizer", tok, strings.TrimSpace(ids))
	if err != nil || back != in {
		t.Errorf("decode: %q, %v; want %q", back, err, in)
	}

	// Chat through standard input, with the assistant mask.
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetIn(strings.NewReader(`[{"role":"user","content":"Hi"},{"role":"assistant","content":"The cat."}]`))
	root.SetArgs([]string{"tokenizer", "encode", "--tokenizer", tok, "--chat", "--json"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		IDs    []int32  `json:"ids"`
		Tokens []string `json:"tokens"`
		Text   string   `json:"text"`
		Mask   []bool   `json:"assistant_mask"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v", err)
	}
	if rep.Text != "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nThe cat.<|im_end|>\n" {
		t.Errorf("chat text %q", rep.Text)
	}
	var masked strings.Builder
	for i, m := range rep.Mask {
		if m {
			masked.WriteString(rep.Tokens[i])
		}
	}
	if masked.String() != "TheĠcat.<|im_end|>" {
		t.Errorf("assistant tokens %q", masked.String())
	}
}

func TestTokenizerErrors(t *testing.T) {
	if _, err := runCLI(t, "tokenizer", "train", "--out", t.TempDir()); err == nil {
		t.Error("train without corpus: want an error")
	}
	if _, err := runCLI(t, "tokenizer", "encode", "--tokenizer", t.TempDir(), "x"); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("encode with no tokenizer.json: %v", err)
	}
}

// TestTokenizerTrainRefusesInputs: an --out directory that is a corpus
// file, or whose tokenizer files are the corpus or the chat template,
// exits 2 before training and leaves the inputs as they were.
func TestTokenizerTrainRefusesInputs(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "tok")
	corpus := filepath.Join(tok, "tokenizer.json") // e.g. training on a tokenizer's own vocabulary
	tmpl := filepath.Join(tok, "tokenizer_config.json")
	text := filepath.Join(dir, "corpus.txt")
	for _, f := range []string{corpus, tmpl, text} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("hello there, general kenobi {{ messages }}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--corpus", corpus, "--out", tok}, "--out " + tok + " would write " + corpus + ", one of the inputs (a corpus file)"},
		{[]string{"--corpus", text, "--chat-template", tmpl, "--out", tok}, "one of the inputs (the --chat-template file)"},
		{[]string{"--corpus", text, "--out", text}, "--out " + text + " is one of the inputs (a corpus file); choose another directory"},
	} {
		_, err := runCLI(t, append([]string{"tokenizer", "train", "-q", "--vocab-size", "270"}, c.args...)...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("tokenizer train %s: exit %d (%v), want 2 and %q", strings.Join(c.args, " "), exitCode(err), err, c.msg)
		}
		for _, f := range []string{corpus, tmpl, text} {
			if got, _ := os.ReadFile(f); string(got) != "hello there, general kenobi {{ messages }}" {
				t.Errorf("tokenizer train %s: %s changed", strings.Join(c.args, " "), f)
			}
		}
	}
	// A built-in template's name is no file, even beside a directory of that name.
	t.Chdir(dir)
	if _, err := runCLI(t, "tokenizer", "train", "-q", "--vocab-size", "270", "--corpus", text, "--chat-template", "chatml", "--out", "chatml"); err != nil {
		t.Errorf("--chat-template chatml --out chatml: %v", err)
	}
}
