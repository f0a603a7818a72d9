package ckpt

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rawFile assembles a safetensors image from a header and data bytes.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func le16(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	in := []Tensor{
		{Name: "wte", Shape: []int{3, 2}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), 0, 1e-30}},
		{Name: "h.0.ln_1.weight", Shape: []int{2}, Data: []float32{0.25, -0.75}},
		{Name: "scalar", Shape: []int{}, Data: []float32{42}},
		{Name: "empty", Shape: []int{0, 5}, Data: []float32{}},
	}
	md := map[string]string{"format": "alignlab", "note": `quotes " and \ survive`}
	if err := Write(p, in, md); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	if n := binary.LittleEndian.Uint64(raw); (8+n)%8 != 0 {
		t.Errorf("data section starts at %d, not 8-byte aligned", 8+n)
	}
	out, gotMD, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if gotMD["note"] != md["note"] || gotMD["format"] != "alignlab" {
		t.Fatalf("metadata %v, want %v", gotMD, md)
	}
	if len(out) != len(in) {
		t.Fatalf("read %d tensors, want %d", len(out), len(in))
	}
	for i := range in { // data order is write order
		if out[i].Name != in[i].Name || !slices.Equal(out[i].Shape, in[i].Shape) || !slices.Equal(out[i].Data, in[i].Data) {
			t.Fatalf("tensor %d: got %+v, want %+v", i, out[i], in[i])
		}
	}
	// No temporary file is left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries after the write, want 1", len(ents))
	}
}

func TestReadHalfPrecision(t *testing.T) {
	header := `{"h":{"dtype":"F16","shape":[8],"data_offsets":[0,16]},` +
		`"b":{"dtype":"BF16","shape":[1,3],"data_offsets":[16,22]},"__metadata__":{"format":"pt"}}`
	data := append(le16(0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x7C00, 0x8000, 0x7E00), le16(0x3F80, 0xC060, 0x0000)...)
	tensors, md, err := ReadFile(writeTemp(t, rawFile(header, data)))
	if err != nil {
		t.Fatal(err)
	}
	if md["format"] != "pt" {
		t.Fatalf("metadata %v", md)
	}
	h, b := tensors[0].Data, tensors[1].Data
	wantH := []float32{1, -2, 0.5, 65504, float32(math.Ldexp(1, -24)), float32(math.Inf(1)), 0}
	if !slices.Equal(h[:7], wantH) || !math.Signbit(float64(h[6])) || !math.IsNaN(float64(h[7])) {
		t.Fatalf("F16 decoded as %v", h)
	}
	if !slices.Equal(b, []float32{1, -3.5, 0}) || !slices.Equal(tensors[1].Shape, []int{1, 3}) {
		t.Fatalf("BF16 decoded as %v shape %v", b, tensors[1].Shape)
	}
}

// TestF16Exhaustive checks every half value against the definition.
func TestF16Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		sign := 1.0
		if h>>15 == 1 {
			sign = -1
		}
		e, m := int(h>>10)&0x1f, float64(h&0x3ff)
		var want float64
		switch e {
		case 0:
			want = sign * m * math.Ldexp(1, -24)
		case 31:
			if m != 0 {
				if got := f16ToF32(h); got == got {
					t.Fatalf("%#04x: %g, want NaN", h, got)
				}
				continue
			}
			want = sign * math.Inf(1)
		default:
			want = sign * (1 + m/1024) * math.Ldexp(1, e-15)
		}
		if got := f16ToF32(h); float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Fatalf("%#04x: %g, want %g", h, got, want)
		}
	}
}

func TestCorruptFiles(t *testing.T) {
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	ok := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"too short", []byte{1, 2, 3}, "too short"},
		{"header beyond file", append(binary.LittleEndian.AppendUint64(nil, 1<<40), "{}"...), "exceeds the file size"},
		{"header length max uint64", append(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "{}"...), "exceeds the file size"},
		{"not json", rawFile(`{"a":`, nil), "header JSON"},
		{"not an object", rawFile(`[1,2]`, nil), "not a JSON object"},
		{"trailing data", rawFile(`{} {}`, nil), "after the top-level object"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}`, f32(2)), `unknown dtype "F31"`},
		{"shape mismatch", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32(3)), "is 12 bytes but data_offsets [0, 8) span 8"},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32(2)), "negative dimension"},
		{"huge shape", rawFile(`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`, f32(2)), "shape"},
		{"offsets beyond data", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(2)), "outside the 8-byte data section"},
		{"offsets reversed", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}`, f32(2)), "outside"},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}`, f32(2)), "3 entries"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(3)), "overlap"},
		{"duplicate name", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)), "twice"},
		{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, f32(2)), `missing "shape"`},
		{"bad metadata", rawFile(`{"__metadata__":{"n":1}}`, nil), "__metadata__"},
		{"fractional dim", rawFile(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}`, f32(2)), "shape"},
		{"valid control", rawFile(ok, f32(2)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.file)
			_, _, err := ReadFile(p)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid file rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error mentioning %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q should mention %q and the file %s", err, tc.want, p)
			}
		})
	}
}

func TestReadFloat32Errors(t *testing.T) {
	header := `{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"f":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`
	p := writeTemp(t, rawFile(header, make([]byte, 16)))
	if _, _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), "i (I64)") {
		t.Fatalf("ReadFile with an I64 tensor: %v", err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name string
		dst  []float32
		want string
	}{
		{"i", make([]float32, 1), "does not convert"},
		{"f", make([]float32, 3), "has 2 elements"},
		{"g", make([]float32, 2), `no tensor "g"`},
		{"f", make([]float32, 2), ""},
	} {
		err := f.ReadFloat32(tc.name, tc.dst)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("ReadFloat32(%q, %d): %v, want %q", tc.name, len(tc.dst), err, tc.want)
		}
	}
}

func TestWriteRejectsBadTensors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.safetensors")
	for _, tc := range []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"size", []Tensor{{Name: "a", Shape: []int{2, 2}, Data: make([]float32, 3)}}, "holds 4 elements"},
		{"dup", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, "twice"},
		{"reserved", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, "invalid name"},
	} {
		if err := Write(p, tc.tensors, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("a rejected write left %s behind", p)
	}
}
