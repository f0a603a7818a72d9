// Checkpoints split across several safetensors files, as Hugging Face saves
// large models: model.safetensors.index.json maps each tensor name to the
// shard file that holds it.

package ckpt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File names of a Hugging Face checkpoint directory.
const (
	SingleFile = "model.safetensors"
	IndexFile  = "model.safetensors.index.json"
)

// Shards is a checkpoint read as one set of named tensors, whether it is a
// single safetensors file or several shards.
type Shards struct {
	files []*File
	where map[string]*File
}

// OpenDir opens the checkpoint in dir: model.safetensors if it exists,
// else the shards listed by model.safetensors.index.json (the order in
// which transformers looks for them).
func OpenDir(dir string) (*Shards, error) {
	single := filepath.Join(dir, SingleFile)
	if _, err := os.Stat(single); err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		return newShards([]*File{f}, nil)
	}
	idxPath := filepath.Join(dir, IndexFile)
	raw, err := os.ReadFile(idxPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("safetensors: %s has neither %s nor %s", dir, SingleFile, IndexFile)
	}
	if err != nil {
		return nil, fmt.Errorf("safetensors index: %w", err)
	}
	weightMap, err := ParseIndex(raw)
	if err != nil {
		return nil, fmt.Errorf("safetensors index %s: %w", idxPath, err)
	}
	var names []string
	for _, shard := range weightMap {
		if !slices.Contains(names, shard) {
			names = append(names, shard)
		}
	}
	slices.Sort(names)
	var files []*File
	for _, n := range names {
		f, err := Open(filepath.Join(dir, n))
		if err != nil {
			for _, g := range files {
				g.Close()
			}
			return nil, fmt.Errorf("safetensors index %s: %w", idxPath, err)
		}
		files = append(files, f)
	}
	s, err := newShards(files, weightMap)
	if err != nil {
		return nil, fmt.Errorf("safetensors index %s: %w", idxPath, err)
	}
	return s, nil
}

// newShards indexes the tensors of files; weightMap (may be nil) is checked
// against where each tensor really is. On error it closes the files.
func newShards(files []*File, weightMap map[string]string) (*Shards, error) {
	s := &Shards{files: files, where: map[string]*File{}}
	fail := func(err error) (*Shards, error) {
		s.Close()
		return nil, err
	}
	for _, f := range files {
		for _, t := range f.Tensors {
			if g, dup := s.where[t.Name]; dup {
				return fail(fmt.Errorf("tensor %q is in both %s and %s", t.Name, g.Path(), f.Path()))
			}
			s.where[t.Name] = f
		}
	}
	for name, shard := range weightMap {
		f, ok := s.where[name]
		if !ok || filepath.Base(f.Path()) != shard {
			return fail(fmt.Errorf("index maps tensor %q to %s, which does not hold it", name, shard))
		}
	}
	return s, nil
}

// ParseIndex parses a model.safetensors.index.json and returns its
// weight_map (tensor name to shard file name). Shard names must be plain
// file names in the same directory, so an index cannot point elsewhere.
func ParseIndex(raw []byte) (map[string]string, error) {
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&idx); err != nil {
		return nil, fmt.Errorf("not a safetensors index (JSON with a weight_map object): %w", err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, errors.New("weight_map is missing or empty")
	}
	for name, shard := range idx.WeightMap {
		if shard == "" || shard == "." || shard == ".." || strings.ContainsAny(shard, `/\`) || strings.ContainsRune(shard, 0) {
			return nil, fmt.Errorf("tensor %q: shard %q is not a file name in the checkpoint directory", name, shard)
		}
	}
	return idx.WeightMap, nil
}

// Names lists every tensor, sorted.
func (s *Shards) Names() []string {
	names := make([]string, 0, len(s.where))
	for n := range s.where {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Lookup finds a tensor by name.
func (s *Shards) Lookup(name string) (TensorInfo, bool) {
	f, ok := s.where[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Lookup(name)
}

// Path is the file that holds the named tensor, or the first shard's path
// when no shard does (for error messages).
func (s *Shards) Path(name string) string {
	if f, ok := s.where[name]; ok {
		return f.Path()
	}
	return s.files[0].Path()
}

// ReadFloat32 reads the named tensor into dst as float32 (see
// File.ReadFloat32).
func (s *Shards) ReadFloat32(name string, dst []float32) error {
	f, ok := s.where[name]
	if !ok {
		return fmt.Errorf("safetensors %s: no tensor %q", s.Path(name), name)
	}
	return f.ReadFloat32(name, dst)
}

// ReadFloat32Transposed reads the named matrix into dst transposed (see
// File.ReadFloat32Transposed).
func (s *Shards) ReadFloat32Transposed(name string, dst []float32) error {
	f, ok := s.where[name]
	if !ok {
		return fmt.Errorf("safetensors %s: no tensor %q", s.Path(name), name)
	}
	return f.ReadFloat32Transposed(name, dst)
}

// Close closes every shard.
func (s *Shards) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
