package gguf

import (
	"bytes"
	"testing"
)

// FuzzParse: any image is rejected with an error or parses into tensors that
// are packed in order, aligned and inside the file, whose F32/F16/BF16 data
// then reads without error; a written file always parses back.
func FuzzParse(f *testing.F) {
	var w Writer
	w.Set("general.architecture", "llama")
	w.Set("tokenizer.ggml.tokens", []string{"a", "b"})
	w.Set("tokenizer.ggml.token_type", []int32{1, 3})
	w.AddTensor(Tensor{Name: "a", Shape: []int{2, 2}, Type: F16, Data: []float32{1, 2, 3, 4}})
	w.AddTensor(Tensor{Name: "b", Shape: []int{3}, Type: F32, Data: []float32{5, 6, 7}})
	var buf bytes.Buffer
	w.Write(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Add(append([]byte("GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"), buf.Bytes()[24:]...))
	f.Fuzz(func(t *testing.T, img []byte) {
		file, err := Parse(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			return
		}
		if file.DataStart%int64(file.Alignment) != 0 {
			t.Fatalf("data section at %d, alignment %d", file.DataStart, file.Alignment)
		}
		var next uint64
		for _, ti := range file.Tensors {
			if ti.Offset != next || ti.Offset%uint64(file.Alignment) != 0 || file.DataStart+int64(ti.Offset+ti.Bytes) > int64(len(img)) {
				t.Fatalf("tensor %q [%d,+%d) misplaced in %d bytes from %d", ti.Name, ti.Offset, ti.Bytes, len(img), file.DataStart)
			}
			next = pad(ti.Offset+ti.Bytes, uint64(file.Alignment))
			if ti.Type.Size() > 0 {
				if _, err := file.ReadFloat32(bytes.NewReader(img), ti.Name); err != nil {
					t.Fatalf("tensor %q: %v", ti.Name, err)
				}
			}
		}
		// What parses must write back and parse to the same metadata.
		var w Writer
		for _, kv := range file.KV {
			if err := w.Set(kv.Key, kv.Value); err != nil {
				t.Fatalf("re-set %q: %v", kv.Key, err)
			}
		}
		var out bytes.Buffer
		if err := w.Write(&out); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(bytes.NewReader(out.Bytes()), int64(out.Len())); err != nil {
			t.Fatalf("rewritten file does not parse: %v", err)
		}
	})
}
