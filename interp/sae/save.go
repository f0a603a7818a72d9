// Saving and loading in SAELens's layout, so an SAE trained here loads with
// sae_lens.SAE.load_from_disk and one trained there (float32, standard or
// topk) loads here.

package sae

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/internal/textfile"
)

// The files of an SAE directory, as SAELens names them.
const (
	WeightsFile = "sae_weights.safetensors"
	ConfigFile  = "cfg.json"
)

// cfgFormatVersion is the SAELens version whose cfg.json layout we write
// (6.x: architecture-specific fields at the top level, where the SAE came
// from under "metadata"). SAELens reads configs without a version, or
// older than 6.0, through its pre-6 converter, so it must be present.
const cfgFormatVersion = "6.0.0"

// fileConfig is cfg.json. SAELens 6 reads the top-level architecture fields
// and "metadata"; the flat model_name, hook_name, hook_layer and
// context_size are the pre-6 layout, kept for older readers and tools
// (SAELens 6 ignores top-level fields it does not know).
type fileConfig struct {
	Architecture         Architecture `json:"architecture"`
	DIn                  int          `json:"d_in"`
	DSae                 int          `json:"d_sae"`
	K                    int          `json:"k,omitempty"`
	Dtype                string       `json:"dtype"`
	Device               string       `json:"device"`
	ApplyBDecToInput     *bool        `json:"apply_b_dec_to_input"`
	NormalizeActivations string       `json:"normalize_activations"`
	ReshapeActivations   string       `json:"reshape_activations"`
	ActivationFn         string       `json:"activation_fn,omitempty"`
	// RescaleActsByDecoderNorm is SAELens's TopK option to scale latents
	// by decoder norms; we do not implement it, so we refuse it on load.
	RescaleActsByDecoderNorm bool     `json:"rescale_acts_by_decoder_norm,omitempty"`
	Metadata                 fileMeta `json:"metadata"`

	ModelName   string `json:"model_name,omitempty"`
	HookName    string `json:"hook_name,omitempty"`
	HookLayer   *int   `json:"hook_layer,omitempty"`
	ContextSize int    `json:"context_size,omitempty"`
	// Older SAELens names for hook_name and hook_layer, read only.
	HookPoint      string `json:"hook_point,omitempty"`
	HookPointLayer *int   `json:"hook_point_layer,omitempty"`
}

type fileMeta struct {
	ModelName     string `json:"model_name,omitempty"`
	HookName      string `json:"hook_name,omitempty"`
	HookLayer     *int   `json:"hook_layer,omitempty"`
	HookHeadIndex *int   `json:"hook_head_index"`
	PrependBOS    bool   `json:"prepend_bos"`
	ContextSize   int    `json:"context_size,omitempty"`
	DatasetPath   string `json:"dataset_path,omitempty"`
	SAELens       string `json:"sae_lens_version"`
	SAELensTrain  string `json:"sae_lens_training_version"`
}

// Save writes s to dir (created if needed) as sae_weights.safetensors
// (W_enc, b_enc, W_dec, b_dec, float32) and cfg.json.
func (s *SAE) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save sae: %w", err)
	}
	tensors := []ckpt.Tensor{
		{Name: "W_enc", Shape: []int{s.DIn, s.DSae}, Data: s.WEnc},
		{Name: "b_enc", Shape: []int{s.DSae}, Data: s.BEnc},
		{Name: "W_dec", Shape: []int{s.DSae, s.DIn}, Data: s.WDec},
		{Name: "b_dec", Shape: []int{s.DIn}, Data: s.BDec},
	}
	if err := ckpt.Write(filepath.Join(dir, WeightsFile), tensors, nil); err != nil {
		return fmt.Errorf("save sae: %w", err)
	}
	layer := s.Meta.HookLayer
	yes := true
	c := fileConfig{
		Architecture: s.Arch, DIn: s.DIn, DSae: s.DSae, Dtype: "float32", Device: "cpu",
		ApplyBDecToInput: &yes, NormalizeActivations: "none", ReshapeActivations: "none",
		ActivationFn: "relu",
		Metadata: fileMeta{ModelName: s.Meta.ModelName, HookName: s.Meta.HookName, HookLayer: &layer,
			PrependBOS: false, ContextSize: s.Meta.ContextSize, DatasetPath: s.Meta.DatasetPath,
			SAELens: cfgFormatVersion, SAELensTrain: cfgFormatVersion},
		ModelName: s.Meta.ModelName, HookName: s.Meta.HookName, HookLayer: &layer, ContextSize: s.Meta.ContextSize,
	}
	if s.Arch == TopK {
		c.K = s.K
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("save sae: %w", err)
	}
	err = ckpt.WriteAtomic(filepath.Join(dir, ConfigFile), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("save sae: %w", err)
	}
	return nil
}

// Load reads an SAE directory in SAELens's layout: cfg.json (6.x, or the
// flat pre-6 layout) and sae_weights.safetensors (any float dtype the ckpt
// package reads). Architectures other than standard and topk, and
// activation normalisation, are refused rather than misread.
func Load(dir string) (*SAE, error) {
	raw, err := textfile.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("load sae: %w (an SAE directory holds %s and %s)", err, ConfigFile, WeightsFile)
	}
	s, err := parseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("load sae: %s: %w", ConfigFile, err)
	}
	f, err := ckpt.Open(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, fmt.Errorf("load sae: %w", err)
	}
	defer f.Close()
	for _, p := range []struct {
		name  string
		dst   []float32
		shape []int
	}{
		{"W_enc", s.WEnc, []int{s.DIn, s.DSae}}, {"b_enc", s.BEnc, []int{s.DSae}},
		{"W_dec", s.WDec, []int{s.DSae, s.DIn}}, {"b_dec", s.BDec, []int{s.DIn}},
	} {
		info, ok := f.Lookup(p.name)
		if !ok {
			return nil, fmt.Errorf("load sae: %s has no tensor %s", WeightsFile, p.name)
		}
		if !slices.Equal(info.Shape, p.shape) {
			return nil, fmt.Errorf("load sae: %s is %v, cfg.json says %v", p.name, info.Shape, p.shape)
		}
		if err := f.ReadFloat32(p.name, p.dst); err != nil {
			return nil, fmt.Errorf("load sae: %w", err)
		}
	}
	return s, nil
}

// parseConfig reads cfg.json into an SAE of the right shape with zero
// weights. Sizes are bounded so a corrupt file cannot ask for terabytes.
func parseConfig(raw []byte) (*SAE, error) {
	var c fileConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c.Architecture == "" {
		c.Architecture = Standard
	}
	if c.NormalizeActivations != "" && c.NormalizeActivations != "none" {
		return nil, fmt.Errorf("normalize_activations %q is not supported (fold the scaling into the weights first)", c.NormalizeActivations)
	}
	if c.ActivationFn != "" && c.ActivationFn != "relu" {
		return nil, errors.New("activation_fn " + c.ActivationFn + " is not supported (relu only)")
	}
	if c.ApplyBDecToInput != nil && !*c.ApplyBDecToInput {
		return nil, errors.New("apply_b_dec_to_input false is not supported (this package subtracts b_dec before encoding, as SAELens's default)")
	}
	if c.HookName == "" {
		c.HookName = c.HookPoint
	}
	if c.HookLayer == nil {
		c.HookLayer = c.HookPointLayer
	}
	if c.RescaleActsByDecoderNorm {
		return nil, errors.New("rescale_acts_by_decoder_norm is not supported")
	}
	if c.DIn > 1<<20 || c.DSae > 1<<24 || c.DIn*c.DSae > 1<<28 {
		return nil, fmt.Errorf("d_in %d × d_sae %d is too large", c.DIn, c.DSae)
	}
	if c.Architecture == Standard {
		c.K = 0
	}
	s, err := New(c.DIn, c.DSae, c.Architecture, c.K, 0)
	if err != nil {
		return nil, err
	}
	s.Meta = Meta{ModelName: c.Metadata.ModelName, HookName: c.Metadata.HookName,
		ContextSize: c.Metadata.ContextSize, DatasetPath: c.Metadata.DatasetPath}
	if c.Metadata.HookLayer != nil {
		s.Meta.HookLayer = *c.Metadata.HookLayer
	}
	if s.Meta.HookName == "" { // pre-6 layout
		s.Meta.ModelName, s.Meta.HookName, s.Meta.ContextSize = c.ModelName, c.HookName, c.ContextSize
		if c.HookLayer != nil {
			s.Meta.HookLayer = *c.HookLayer
		}
	}
	return s, nil
}
