package lab

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/alignlab/alignlab/ckpt"
)

// TestRegenerateEmbeddedBases rewrites assets/bases from a run's
// checkpoints when LAB_REGEN_BASES names them (a maintenance step, not a
// test).
func TestRegenerateEmbeddedBases(t *testing.T) {
	src := os.Getenv("LAB_REGEN_BASES")
	if src == "" {
		t.Skip("set LAB_REGEN_BASES=runs/<id>/checkpoints to regenerate the embedded bases")
	}
	if err := writeEmbeddedBases(src, filepath.Join("assets", "bases"), 16); err != nil {
		t.Fatal(err)
	}
}

func TestF16(t *testing.T) {
	vals := []float32{0, 1, -2.5, 0.1, 65504, 1e-5, 6e-8, 1e-9, -0.0333, 3.14159, 70000}
	for _, v := range vals {
		h := f32ToF16(v)
		got := halfToFloat(h)
		want := float64(v)
		switch {
		case math.Abs(want) > 65520:
			if !math.IsInf(got, 0) {
				t.Errorf("%g: got %g, want infinity", v, got)
			}
		case math.Abs(want) < 3e-8:
			if got != 0 {
				t.Errorf("%g: got %g, want 0", v, got)
			}
		case math.Abs(got-want) > math.Max(math.Abs(want)*1e-3, 6e-8):
			t.Errorf("%g: got %g", v, got)
		}
	}
	// Ties round to even: 1 + 2^-11 is halfway between 1 and the next half.
	if f32ToF16(1+1.0/2048) != 0x3c00 || f32ToF16(1+3.0/2048) != 0x3c02 {
		t.Errorf("ties: %#x %#x", f32ToF16(1+1.0/2048), f32ToF16(1+3.0/2048))
	}
}

// halfToFloat decodes an IEEE half independently of the encoder.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch e {
	case 0:
		return sign * m * math.Pow(2, -24)
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}

func TestSaveF16RoundTrip(t *testing.T) {
	c, _ := newWordCodec([]string{"The answer is 12.", "The answer is 12."}, 300)
	p, err := NewPolicy(c, ModelSize{Layers: 1, Dim: 16, Heads: 2, Hidden: 32, MaxSeq: 32}, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := saveF16(p, dir); err != nil {
		t.Fatal(err)
	}
	ts, _, err := ckpt.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != len(p.Model.Params.Tensors) {
		t.Fatalf("%d tensors written, model has %d", len(ts), len(p.Model.Params.Tensors))
	}
	q, err := LoadPolicy(dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range p.Model.Params.Data {
		if w := q.Model.Params.Data[i]; math.Abs(float64(v-w)) > math.Abs(float64(v))*1e-3+1e-7 {
			t.Fatalf("weight %d: %g saved, %g loaded", i, v, w)
		}
	}
}
