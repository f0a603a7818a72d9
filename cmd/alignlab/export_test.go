package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/ckpt/gguf"
	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// exportTestModel is a tiny Llama with its byte-level tokenizer.
func exportTestModel(t *testing.T) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	tok, err := tokenizer.Train([]string{"hello there, general kenobi"}, tokenizer.TrainConfig{VocabSize: 270, Special: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.LlamaConfig(tok.VocabSize(), 32, 1, 2, 2, 16, 32), 1)
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// TestExport runs 'export hf' on an alignlab checkpoint and 'export gguf'
// on the result, end to end through the CLI.
func TestExport(t *testing.T) {
	m, tok := exportTestModel(t)
	root := t.TempDir()
	own := filepath.Join(root, "own")
	if err := errors.Join(m.Save(own), tok.Save(own)); err != nil {
		t.Fatal(err)
	}
	hfDir := filepath.Join(root, "hf")
	if _, err := runCLI(t, "export", "hf", "--model", own, "--out", hfDir); err != nil {
		t.Fatal(err)
	}
	m2, tok2, err := hf.Load(hfDir)
	if err != nil || tok2 == nil || !slices.Equal(m2.Params.Data, m.Params.Data) {
		t.Fatalf("export hf: reload %v, tokenizer %v", err, tok2 != nil)
	}
	out := filepath.Join(root, "m.gguf")
	if _, err := runCLI(t, "export", "gguf", "--model", hfDir, "--out", out, "--type", "f32"); err != nil {
		t.Fatal(err)
	}
	r, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if arch, _ := r.Get("general.architecture"); arch != "llama" {
		t.Fatalf("architecture %v", arch)
	}
	if _, err := runCLI(t, "export", "gguf", "--model", hfDir, "--out", out, "--type", "q4"); err == nil || !strings.Contains(err.Error(), "f32 or f16") {
		t.Fatalf("bad --type: %v", err)
	}
}

// TestExportRefusesInputs: an --out that is the model directory or one of
// the files its load reads exits 2 before loading, and the model directory
// keeps every byte (GGUF over the weights, an HF rewrite of the model's
// own directory).
func TestExportRefusesInputs(t *testing.T) {
	m, tok := exportTestModel(t)
	root := t.TempDir()
	own, hfDir := filepath.Join(root, "own"), filepath.Join(root, "hf")
	if err := errors.Join(m.Save(own), tok.Save(own), hf.Save(hfDir, m, tok)); err != nil {
		t.Fatal(err)
	}
	alias := filepath.Join(root, "alias")
	if err := os.Symlink(own, alias); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, d := range []string{own, hfDir} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			p := filepath.Join(d, e.Name())
			var err error
			if before[p], err = os.ReadFile(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"gguf", "--model", own, "--out", filepath.Join(own, "model.safetensors")}, "is one of the inputs (the model's weights)"},
		{[]string{"gguf", "--model", hfDir, "--out", filepath.Join(hfDir, "tokenizer.json")}, "is one of the inputs (the model's tokenizer)"},
		{[]string{"gguf", "--model", alias, "--out", filepath.Join(own, "config.json")}, "is one of the inputs (the model's config, " + filepath.Join(alias, "config.json") + ")"},
		{[]string{"hf", "--model", own, "--out", own}, "--out " + own + " is one of the inputs (the model directory)"},
		{[]string{"hf", "--model", hfDir, "--out", hfDir + "/."}, "is one of the inputs (the model directory"},
		{[]string{"hf", "--model", own, "--out", alias}, "is one of the inputs (the model directory, " + own + ")"},
		{[]string{"hf", "--model", own, "--out", filepath.Join(own, "model.safetensors")}, "is one of the inputs (the model's weights)"},
	} {
		_, err := runCLI(t, append([]string{"export"}, c.args...)...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "choose another") {
			t.Errorf("export %s: exit %d (%v), want 2 and %q", strings.Join(c.args, " "), exitCode(err), err, c.msg)
		}
	}
	for p, want := range before {
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s changed (%v)", p, err)
		}
	}
	// A new file beside the weights, and a directory that merely holds
	// the model, are fine.
	if _, err := runCLI(t, "export", "gguf", "--model", own, "--out", filepath.Join(own, "model.gguf"), "--type", "f32"); err != nil {
		t.Errorf("gguf beside the weights: %v", err)
	}
	if _, err := runCLI(t, "export", "hf", "--model", own, "--out", filepath.Join(own, "hf")); err != nil {
		t.Errorf("hf into a subdirectory of the model: %v", err)
	}
}
