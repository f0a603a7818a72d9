// Package modeldir loads a model directory in either layout alignlab
// reads, so that serving and auditing open a directory the same way:
// Hugging Face (config.json with a "model_type", model.safetensors or its
// shards, tokenizer.json) or alignlab's own checkpoint (model.Load) with an
// optional tokenizer.json beside it.
package modeldir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// TokenizerFile is the tokenizer's file name in a model directory.
const TokenizerFile = "tokenizer.json"

// Load reads the model in dir and its tokenizer; the tokenizer is nil when
// dir has no tokenizer.json (callers decide whether they can do without).
func Load(dir string) (*model.Model, *tokenizer.Tokenizer, error) {
	cfgPath := filepath.Join(dir, model.ConfigFile)
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, nil, fmt.Errorf("load model %s: %w (a model is a directory with config.json and model.safetensors: a Hugging Face download or an alignlab checkpoint such as runs/<id>/model)", dir, err)
	}
	var probe struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, nil, fmt.Errorf("load model: %s: %w", cfgPath, err)
	}
	if probe.ModelType != "" {
		return hf.Load(dir)
	}
	m, err := model.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load model: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, TokenizerFile)); errors.Is(err, fs.ErrNotExist) {
		return m, nil, nil
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load tokenizer of %s: %w", dir, err)
	}
	return m, tok, nil
}
