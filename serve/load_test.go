package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoad: an alignlab checkpoint with a tokenizer.json beside it loads;
// without one it is an error that says what is missing.
func TestLoad(t *testing.T) {
	tok := testTokenizer(t)
	m := testModel(t, tok, 64)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Fatalf("no tokenizer: %v", err)
	}
	if err := tok.Save(dir); err != nil {
		t.Fatal(err)
	}
	gm, gtok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if gm.Config != m.Config || gtok.VocabSize() != tok.VocabSize() {
		t.Errorf("loaded %+v / %d tokens", gm.Config, gtok.VocabSize())
	}
	if _, _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("loaded a missing directory")
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "bert"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(dir); err == nil {
		t.Error("loaded an unsupported Hugging Face model type")
	}
}
