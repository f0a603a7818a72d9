package ckpt

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeShard(t *testing.T, dir, name string, ts ...Tensor) {
	t.Helper()
	if err := Write(filepath.Join(dir, name), ts, nil); err != nil {
		t.Fatal(err)
	}
}

func TestShards(t *testing.T) {
	dir := t.TempDir()
	writeShard(t, dir, "model-00001-of-00002.safetensors", Tensor{Name: "a", Shape: []int{2}, Data: []float32{1, 2}})
	writeShard(t, dir, "model-00002-of-00002.safetensors", Tensor{Name: "b", Shape: []int{1, 2}, Data: []float32{3, 4}})
	index := `{"metadata":{"total_size":16},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`
	if err := os.WriteFile(filepath.Join(dir, IndexFile), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("names %v", got)
	}
	b := make([]float32, 2)
	if err := s.ReadFloat32Transposed("b", b); err != nil || !slices.Equal(b, []float32{3, 4}) {
		t.Fatalf("b = %v, %v", b, err)
	}
	if info, ok := s.Lookup("a"); !ok || !slices.Equal(info.Shape, []int{2}) {
		t.Fatalf("lookup a: %+v %v", info, ok)
	}
	if err := s.ReadFloat32("c", b); err == nil || !strings.Contains(err.Error(), `no tensor "c"`) {
		t.Fatalf("missing tensor: %v", err)
	}

	// A single file is found without an index.
	single := t.TempDir()
	writeShard(t, single, SingleFile, Tensor{Name: "x", Shape: []int{1}, Data: []float32{5}})
	s2, err := OpenDir(single)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}

func TestShardErrors(t *testing.T) {
	for _, tc := range []struct {
		name, index string
		want        string
	}{
		{"not json", `{"weight_map":`, "not a safetensors index"},
		{"no map", `{"metadata":{}}`, "weight_map is missing"},
		{"path escape", `{"weight_map":{"a":"../x.safetensors"}}`, "not a file name"},
		{"absolute", `{"weight_map":{"a":"/etc/passwd"}}`, "not a file name"},
		{"missing shard", `{"weight_map":{"a":"gone.safetensors"}}`, "gone.safetensors"},
		{"wrong shard", `{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}}`, `tensor "b" to s1.safetensors`},
		{"duplicate", `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s3.safetensors"}}`, "in both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeShard(t, dir, "s1.safetensors", Tensor{Name: "a", Shape: []int{1}, Data: []float32{1}})
			writeShard(t, dir, "s2.safetensors", Tensor{Name: "b", Shape: []int{1}, Data: []float32{1}})
			writeShard(t, dir, "s3.safetensors", Tensor{Name: "b", Shape: []int{1}, Data: []float32{1}}, Tensor{Name: "c", Shape: []int{1}, Data: []float32{1}})
			os.WriteFile(filepath.Join(dir, IndexFile), []byte(tc.index), 0o644)
			s, err := OpenDir(dir)
			if err == nil {
				s.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}
