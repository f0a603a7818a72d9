// Checkpoints in alignlab's own layout: config.json (the Config as JSON) and
// model.safetensors (float32, our tensor names from Params.Tensors).
// Hugging Face naming arrives with issue #3; ckpt's reader is already
// general.

package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alignlab/alignlab/ckpt"
)

// Checkpoint file names inside a checkpoint directory.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// Save writes the model to dir (created if missing): the weights first, then
// the config, each atomically, so a crash mid-save never leaves a torn file.
// Tied output heads are stored once, as wte.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	ts := make([]ckpt.Tensor, len(m.Params.Tensors))
	for i, t := range m.Params.Tensors {
		ts[i] = ckpt.Tensor{Name: t.Name, Shape: t.Shape, Data: t.Data}
	}
	md := map[string]string{"format": "alignlab", "family": string(m.Config.Family)}
	if err := ckpt.Write(filepath.Join(dir, WeightsFile), ts, md); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	cfg, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	err = ckpt.WriteAtomic(filepath.Join(dir, ConfigFile), func(w io.Writer) error {
		_, err := w.Write(append(cfg, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// Load reads a checkpoint written by Save. The config must validate, every
// tensor the config implies must be present with its exact shape (F32, F16
// or BF16 on disk), and no other tensor may be: a name mismatch is an
// error, not silently random weights.
func Load(dir string) (*Model, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("load model: %s: %w (an alignlab config.json is expected; Hugging Face configs load through the HF importer)", cfgPath, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("load model: %s: %w", cfgPath, err)
	}
	wPath := filepath.Join(dir, WeightsFile)
	f, err := ckpt.Open(wPath)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	defer f.Close()
	// Every shape is checked against the file before anything is
	// allocated: a config.json that disagrees with its weights is an
	// error, not a huge allocation.
	want := map[string]bool{}
	var mismatch error
	forEachTensor(cfg, func(name string, shape []int) {
		want[name] = true
		info, ok := f.Lookup(name)
		switch {
		case mismatch != nil:
		case !ok:
			mismatch = fmt.Errorf("load model: %s has no tensor %q", wPath, name)
		case !slices.Equal(info.Shape, shape):
			mismatch = fmt.Errorf("load model: %s: tensor %q has shape %v, config needs %v", wPath, name, info.Shape, shape)
		}
	})
	if mismatch != nil {
		return nil, mismatch
	}
	p, err := NewParams(cfg)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	for _, t := range p.Tensors {
		if err := f.ReadFloat32(t.Name, t.Data); err != nil {
			return nil, fmt.Errorf("load model: %w", err)
		}
	}
	var extra []string
	for _, t := range f.Tensors {
		if !want[t.Name] {
			extra = append(extra, t.Name)
		}
	}
	if len(extra) > 0 {
		return nil, fmt.Errorf("load model: %s has tensors the config does not use: %s", wPath, strings.Join(extra, ", "))
	}
	return FromParams(cfg, p)
}
