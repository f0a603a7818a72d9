package interp

import (
	"os"
	"testing"
)

func TestMatrixValidate(t *testing.T) {
	m := NewMatrix("t", "layer", "position", "x", []string{"0", "1"}, []string{"a", "b", "c"})
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	m.Values[1] = m.Values[1][:2]
	if err := m.Validate(); err == nil {
		t.Fatal("a short row passed Validate")
	}
	m.Values = m.Values[:1]
	if err := m.Validate(); err == nil {
		t.Fatal("a missing row passed Validate")
	}
}

func TestDirectionRoundTrip(t *testing.T) {
	path := t.TempDir() + "/d.json"
	d := &Direction{Hook: "blocks.1.hook_resid_post", Vector: []float32{3, 4}, Source: "test"}
	if err := d.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadDirection(path)
	if err != nil {
		t.Fatal(err)
	}
	u, err := got.Unit()
	if err != nil || u[0] != 0.6 || u[1] != 0.8 || got.Hook != d.Hook {
		t.Fatalf("round trip = %+v, unit %v, %v", got, u, err)
	}
	if _, err := (&Direction{Hook: "h", Vector: []float32{0, 0}}).Unit(); err == nil {
		t.Fatal("a zero vector has a unit direction")
	}
}

// A direction file written by hand in an editor that starts files with a
// byte order mark still loads.
func TestLoadDirectionBOM(t *testing.T) {
	path := t.TempDir() + "/d.json"
	if err := os.WriteFile(path, []byte("\xef\xbb\xbf{\"hook\": \"blocks.0.hook_resid_post\", \"vector\": [1, 0]}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := LoadDirection(path); err != nil || d.Hook != "blocks.0.hook_resid_post" {
		t.Errorf("LoadDirection = %+v, %v", d, err)
	}
}
