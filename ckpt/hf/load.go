package hf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// Load reads a Hugging Face checkpoint directory: config.json,
// model.safetensors (or the shards of model.safetensors.index.json) in
// float32, float16 or bfloat16, and the tokenizer when tokenizer.json is
// present (nil otherwise). Every tensor the config implies must be there
// with its exact shape, and every tensor there must be used: a mismatch is
// an error that names the tensor, never a model with random weights.
func Load(dir string) (*model.Model, *tokenizer.Tokenizer, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	cfg, lay, err := parseConfig(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", cfgPath, err)
	}
	p, err := model.NewParams(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", cfgPath, err)
	}
	set, err := ckpt.OpenDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	defer set.Close()
	prefix := ""
	if cfg.Family == model.GPT2 {
		if _, ok := set.Lookup("transformer.wte.weight"); ok {
			prefix = "transformer."
		}
	}
	if err := readTensors(set, bindings(cfg, lay, p, prefix), cfg, lay); err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	m, err := model.FromParams(cfg, p)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	tok, err := loadTokenizer(dir, cfg)
	if err != nil {
		return nil, nil, err
	}
	return m, tok, nil
}

// readTensors fills every binding from the checkpoint, then checks that
// nothing in it went unused.
func readTensors(set *ckpt.Shards, bs []binding, cfg model.Config, lay layout) error {
	used := map[string]bool{}
	for _, b := range bs {
		used[b.name] = true
		info, ok := set.Lookup(b.name)
		if !ok {
			return fmt.Errorf("checkpoint has no tensor %q, which a %s config with these sizes needs (shape %v)", b.name, lay, b.shape)
		}
		if !slices.Equal(info.Shape, b.shape) {
			return fmt.Errorf("tensor %q has shape %v in %s, but config.json implies %v", b.name, info.Shape, set.Path(b.name), b.shape)
		}
		if !info.DType.Float() {
			return fmt.Errorf("tensor %q has dtype %s in %s; only F32, F16, BF16 and F64 load", b.name, info.DType, set.Path(b.name))
		}
		read := set.ReadFloat32
		if b.transposed {
			read = set.ReadFloat32Transposed
		}
		if err := read(b.name, b.dst); err != nil {
			return err
		}
	}
	var extra []string
	for _, name := range set.Names() {
		if !used[name] && !ignorable(name, cfg) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		more := ""
		if len(extra) > 5 {
			more = fmt.Sprintf(" and %d more", len(extra)-5)
			extra = extra[:5]
		}
		return fmt.Errorf("checkpoint has tensors a %s config does not use: %s%s (a different architecture, or a config.json that does not match the weights)", lay, strings.Join(extra, ", "), more)
	}
	return nil
}

// loadTokenizer loads dir's tokenizer when it has a tokenizer.json, and
// checks that its ids fit the model's embedding.
func loadTokenizer(dir string, cfg model.Config) (*tokenizer.Tokenizer, error) {
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	if n := tok.VocabSize(); n > cfg.VocabSize {
		return nil, fmt.Errorf("load %s: the tokenizer has %d tokens but the model's vocab_size is %d", dir, n, cfg.VocabSize)
	}
	return tok, nil
}
