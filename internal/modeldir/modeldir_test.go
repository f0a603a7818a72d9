package modeldir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

func TestLoad(t *testing.T) {
	tok, err := tokenizer.Train([]string{"hello there, general kenobi"}, tokenizer.TrainConfig{VocabSize: 270, Special: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.LlamaConfig(tok.VocabSize(), 32, 1, 2, 2, 16, 32), 1)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dirs := map[string]func(dir string) error{
		"hf":          func(dir string) error { return hf.Save(dir, m, tok) },
		"own+tok":     func(dir string) error { return errors.Join(m.Save(dir), tok.Save(dir)) },
		"own, no tok": func(dir string) error { return m.Save(dir) },
		"bad json":    func(dir string) error { return os.WriteFile(filepath.Join(dir, model.ConfigFile), []byte("{"), 0o644) },
		"no config":   func(dir string) error { return nil },
	}
	for name, write := range dirs {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := write(dir); err != nil {
				t.Fatal(err)
			}
			gm, gtok, err := Load(dir)
			switch name {
			case "bad json", "no config":
				if err == nil {
					t.Fatal("loaded a directory without a valid config.json")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if gm.Config.VocabSize != m.Config.VocabSize || !slices.Equal(gm.Params.Data, m.Params.Data) {
				t.Errorf("model differs after load")
			}
			if (gtok == nil) != (name == "own, no tok") {
				t.Fatalf("tokenizer %v", gtok)
			}
			if gtok != nil && !slices.Equal(gtok.Encode("hello there"), tok.Encode("hello there")) {
				t.Errorf("tokenizer differs after load")
			}
		})
	}
}
