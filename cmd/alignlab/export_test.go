package main

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/ckpt/gguf"
	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// TestExport runs 'export hf' on an alignlab checkpoint and 'export gguf'
// on the result, end to end through the CLI.
func TestExport(t *testing.T) {
	tok, err := tokenizer.Train([]string{"hello there, general kenobi"}, tokenizer.TrainConfig{VocabSize: 270, Special: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.LlamaConfig(tok.VocabSize(), 32, 1, 2, 2, 16, 32), 1)
	if err != nil {
		t.Fatal(err)
	}
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
