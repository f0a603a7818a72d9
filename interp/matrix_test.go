package interp

import "testing"

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
