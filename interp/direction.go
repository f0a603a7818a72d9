package interp

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/internal/textfile"
)

// Direction is a vector in activation space found at one hook point: a
// probe's weight vector or a difference of means between contrast sets.
// Steering adds it to, or projects it out of, that hook's activations.
type Direction struct {
	// Hook is the hook point the direction was read at, e.g.
	// "blocks.3.hook_resid_post".
	Hook string `json:"hook"`
	// Vector has the hook's width (the model's Dim for residual hooks).
	Vector []float32 `json:"vector"`
	// Source says how it was found, e.g. "difference of means: evaluation
	// minus deployment frame, 400 prompts".
	Source string `json:"source,omitempty"`
}

// Unit returns the direction scaled to length 1 (an error for a zero or
// non-finite vector, which has no direction).
func (d *Direction) Unit() ([]float32, error) {
	var ss float64
	for _, v := range d.Vector {
		ss += float64(v) * float64(v)
	}
	n := math.Sqrt(ss)
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, fmt.Errorf("direction at %s has norm %v; it points nowhere", d.Hook, n)
	}
	u := make([]float32, len(d.Vector))
	for i, v := range d.Vector {
		u[i] = float32(float64(v) / n)
	}
	return u, nil
}

// Save writes d as JSON to path (through a temporary file and a rename).
func (d *Direction) Save(path string) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("save direction: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".direction-*.json")
	if err != nil {
		return fmt.Errorf("save direction: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save direction: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save direction: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// LoadDirection reads a direction written by Save.
func LoadDirection(path string) (*Direction, error) {
	data, err := textfile.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load direction: %w", err)
	}
	var d Direction
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("load direction %s: %w", path, err)
	}
	if d.Hook == "" || len(d.Vector) == 0 {
		return nil, fmt.Errorf("load direction %s: want {\"hook\": NAME, \"vector\": [...]}", path)
	}
	return &d, nil
}
