package ckpt

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseHeader: any header either fails with an error or yields tensors
// that are inside the data section, sized by their shapes and disjoint.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}`), int64(8))
	f.Add([]byte(`{"a":{"dtype":"BF16","shape":[],"data_offsets":[0,2]},"b":{"dtype":"I8","shape":[0],"data_offsets":[2,2]}}`), int64(2))
	f.Add([]byte(`{"a":{"dtype":"F16","shape":[1,2],"data_offsets":[4,8]}}  `), int64(8))
	f.Add([]byte(`{}`), int64(0))
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,8]}}`), int64(8))
	f.Fuzz(func(t *testing.T, header []byte, dataSize int64) {
		if dataSize < 0 {
			dataSize = -dataSize
		}
		h, err := ParseHeader(header, dataSize)
		if err != nil {
			return
		}
		checkHeader(t, h, dataSize)
	})
}

// FuzzReadHeader runs whole file images through the length-prefix logic.
func FuzzReadHeader(f *testing.F) {
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 255, '{', '}'})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, file []byte) {
		h, start, err := readHeader(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			return
		}
		if start < 8 || start > int64(len(file)) {
			t.Fatalf("data starts at %d in a %d-byte file", start, len(file))
		}
		checkHeader(t, h, int64(len(file))-start)
	})
}

func checkHeader(t *testing.T, h *Header, dataSize int64) {
	t.Helper()
	var prevEnd int64
	for _, ti := range h.Tensors {
		if ti.Begin < prevEnd || ti.End < ti.Begin || ti.End > dataSize {
			t.Fatalf("tensor %q [%d, %d) invalid after [.., %d) in %d bytes", ti.Name, ti.Begin, ti.End, prevEnd, dataSize)
		}
		if int64(ti.NumElements())*int64(ti.DType.Size()) != ti.End-ti.Begin {
			t.Fatalf("tensor %q: shape %v does not fill [%d, %d)", ti.Name, ti.Shape, ti.Begin, ti.End)
		}
		prevEnd = ti.End
	}
}

// FuzzOpenAndRead runs file images through Open (mapping included) and reads
// every float tensor straight and, for matrices, transposed: any image is
// either rejected with an error or read without a panic, and reads never
// touch memory outside the tensor's byte range.
func FuzzOpenAndRead(f *testing.F) {
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}`, make([]byte, 16)))
	f.Add(rawFile(`{"a":{"dtype":"BF16","shape":[3,1],"data_offsets":[0,6]},"b":{"dtype":"F16","shape":[1],"data_offsets":[6,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{"a":{"dtype":"F64","shape":[1,1],"data_offsets":[0,8]},"i":{"dtype":"I8","shape":[2],"data_offsets":[8,10]}}`, make([]byte, 10)))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 127, '{', '}'})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, file []byte) {
		p := filepath.Join(dir, "fuzz.safetensors")
		if err := os.WriteFile(p, file, 0o644); err != nil {
			t.Fatal(err)
		}
		sf, err := Open(p)
		if err != nil {
			return
		}
		defer sf.Close()
		checkHeader(t, &sf.Header, int64(len(file))-sf.dataStart)
		for _, ti := range sf.Tensors {
			if !ti.DType.Float() {
				continue
			}
			dst := make([]float32, ti.NumElements())
			if err := sf.ReadFloat32(ti.Name, dst); err != nil {
				t.Fatalf("valid tensor %q: %v", ti.Name, err)
			}
			if len(ti.Shape) == 2 {
				if err := sf.ReadFloat32Transposed(ti.Name, dst); err != nil {
					t.Fatalf("valid matrix %q: %v", ti.Name, err)
				}
			}
		}
	})
}

// FuzzParseIndex: a shard index either fails or names only plain files.
func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../../etc/passwd"}}`))
	f.Add([]byte(`{"weight_map":{}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseIndex(raw)
		if err != nil {
			return
		}
		for name, shard := range m {
			if filepath.Base(shard) != shard || shard == ".." || shard == "." || strings.ContainsAny(shard, `/\`) {
				t.Fatalf("tensor %q: shard %q escapes the directory", name, shard)
			}
		}
	})
}
