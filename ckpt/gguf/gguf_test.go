package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func write(t *testing.T, w *Writer) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := w.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	kvs := []KV{
		{"general.architecture", "llama"},
		{"u8", uint8(200)}, {"i8", int8(-5)}, {"u16", uint16(65000)}, {"i16", int16(-300)},
		{"u32", uint32(1 << 31)}, {"i32", int32(-7)}, {"f32", float32(1e-5)}, {"b", true},
		{"u64", uint64(1 << 40)}, {"i64", int64(-1 << 40)}, {"f64", 0.1},
		{"strs", []string{"a", "", "ĠHello", "<|endoftext|>"}}, {"i32s", []int32{1, 3, -1}},
		{"f32s", []float32{0.5, -2}}, {"bools", []bool{true, false}}, {"u8s", []uint8{1, 2}},
		{"i8s", []int8{-1}}, {"u16s", []uint16{9}}, {"i16s", []int16{-9}}, {"u32s", []uint32{7}},
		{"u64s", []uint64{8}}, {"i64s", []int64{-8}}, {"f64s", []float64{1.5}}, {"empty", []string{}},
	}
	var w Writer
	for _, kv := range kvs {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	mat := []float32{1, 2, 3, 4, 5, 6}
	vec := []float32{0.1, -0.25, 65504, 1e-8, float32(math.Inf(-1))}
	tensors := []Tensor{
		{Name: "m", Shape: []int{2, 3}, Type: F32, Data: mat},
		{Name: "h", Shape: []int{5}, Type: F16, Data: vec},
		{Name: "filled", Shape: []int{3, 1}, Type: F32, Fill: func(d []float32) { copy(d, []float32{7, 8, 9}) }},
		{Name: "scalar", Shape: []int{}, Type: F32, Data: []float32{42}},
	}
	for _, tt := range tensors {
		if err := w.AddTensor(tt); err != nil {
			t.Fatal(err)
		}
	}
	img := write(t, &w)
	f, err := Parse(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != Version || f.Alignment != DefaultAlignment || f.DataStart%32 != 0 {
		t.Fatalf("version %d alignment %d data at %d", f.Version, f.Alignment, f.DataStart)
	}
	if !reflect.DeepEqual(f.KV, kvs) {
		t.Fatalf("metadata\n got %#v\nwant %#v", f.KV, kvs)
	}
	wantShapes := [][]int{{2, 3}, {5}, {3, 1}, {1}}
	for i, ti := range f.Tensors {
		if ti.Name != tensors[i].Name || !slices.Equal(ti.Shape(), wantShapes[i]) || ti.Offset%32 != 0 {
			t.Fatalf("tensor %d: %+v", i, ti)
		}
	}
	if m, _ := f.Lookup("m"); !slices.Equal(m.Dims, []uint64{3, 2}) {
		t.Fatalf("dims of m %v, want ggml order [3 2]", m.Dims)
	}
	r := bytes.NewReader(img)
	for name, want := range map[string][]float32{
		"m": mat, "filled": {7, 8, 9}, "scalar": {42},
		"h": {F16ToF32(F32ToF16(0.1)), -0.25, 65504, 0, float32(math.Inf(-1))},
	} {
		got, err := f.ReadFloat32(r, name)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("%s: %v (%v), want %v", name, got, err, want)
		}
	}
}

// TestLayout checks the exact bytes of a tiny file against the GGUF v3
// specification, so the writer and reader cannot agree on a wrong format.
func TestLayout(t *testing.T) {
	var w Writer
	w.Set("k", uint32(7))
	w.AddTensor(Tensor{Name: "t", Shape: []int{1, 2}, Type: F32, Data: []float32{1, 2}})
	le := binary.LittleEndian
	var want []byte
	want = append(want, "GGUF"...)
	want = le.AppendUint32(want, 3)
	want = le.AppendUint64(want, 1) // tensors
	want = le.AppendUint64(want, 1) // key-values
	want = le.AppendUint64(want, 1)
	want = append(want, 'k')
	want = le.AppendUint32(want, uint32(TypeUint32))
	want = le.AppendUint32(want, 7)
	want = le.AppendUint64(want, 1)
	want = append(want, 't')
	want = le.AppendUint32(want, 2)                    // dims
	want = le.AppendUint64(want, 2)                    // ne[0]: innermost
	want = le.AppendUint64(want, 1)                    // ne[1]
	want = le.AppendUint32(want, 0)                    // F32
	want = le.AppendUint64(want, 0)                    // offset
	want = append(want, make([]byte, 96-len(want))...) // 82 bytes, padded to 32
	want = le.AppendUint32(want, math.Float32bits(1))
	want = le.AppendUint32(want, math.Float32bits(2))
	want = append(want, make([]byte, 24)...)
	if got := write(t, &w); !bytes.Equal(got, want) {
		t.Fatalf("file bytes\n got %x\nwant %x", got, want)
	}
}

func TestWriterErrors(t *testing.T) {
	var w Writer
	if err := w.Set("a", 1); err == nil || !strings.Contains(err.Error(), "no GGUF type") {
		t.Errorf("int value: %v", err)
	}
	w.Set("a", uint8(1))
	if err := w.Set("a", uint8(2)); err == nil {
		t.Error("duplicate key accepted")
	}
	for _, tc := range []struct {
		t    Tensor
		want string
	}{
		{Tensor{Name: strings.Repeat("x", 64), Shape: []int{1}, Data: []float32{1}}, "1 to 63 bytes"},
		{Tensor{Name: "q", Shape: []int{1}, Type: BF16, Data: []float32{1}}, "F32 and F16 only"},
		{Tensor{Name: "d", Shape: []int{1, 1, 1, 1, 1}, Data: []float32{1}}, "more than 4"},
		{Tensor{Name: "n", Shape: []int{2}, Data: []float32{1}}, "holds 2 elements"},
	} {
		if err := w.AddTensor(tc.t); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.t.Name, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	var w Writer
	w.Set("general.alignment", uint32(64))
	w.AddTensor(Tensor{Name: "a", Shape: []int{3}, Type: F32, Data: []float32{1, 2, 3}})
	w.AddTensor(Tensor{Name: "b", Shape: []int{2}, Type: F16, Data: []float32{1, 2}})
	good := write(t, &w)
	if f, err := Parse(bytes.NewReader(good), int64(len(good))); err != nil || f.Alignment != 64 || f.Tensors[1].Offset != 64 {
		t.Fatalf("custom alignment: %+v %v", f, err)
	}
	le := binary.LittleEndian
	patch := func(off int, v uint64, width int) []byte {
		b := slices.Clone(good)
		if width == 4 {
			le.PutUint32(b[off:], uint32(v))
		} else {
			le.PutUint64(b[off:], v)
		}
		return b
	}
	// Offsets into good: 4 version, 8 tensors, 16 kvs, 24 key length, 25+17=42 type of key value...
	keyEnd := 24 + 8 + len("general.alignment")
	tensorA := keyEnd + 4 + 4 // after type tag and value
	aDims := tensorA + 8 + 1 + 4
	aType := aDims + 8
	aOff := aType + 4
	for _, tc := range []struct {
		name string
		img  []byte
		want string
	}{
		{"empty", nil, "needs 4 bytes"},
		{"bad magic", append([]byte("GGUX"), good[4:]...), "bad magic"},
		{"version 1", patch(4, 1, 4), "version 1"},
		{"big endian", patch(4, 3<<24, 4), "byte-swapped"},
		{"too many tensors", patch(8, 1<<40, 8), "cannot fit"},
		{"too many kvs", patch(16, math.MaxUint64, 8), "cannot fit"},
		{"key past end", patch(24, 1<<20, 8), "runs past the end"},
		{"huge key", patch(24, 1<<62, 8), "exceeds"},
		{"bad value type", patch(keyEnd, 99, 4), "unknown value type 99"},
		{"alignment not uint32", patch(keyEnd, uint64(TypeInt32), 4), "general.alignment"},
		{"alignment 48", patch(keyEnd+4, 48, 4), "power of two"},
		{"5 dims", patch(tensorA+8+1, 5, 4), "5 dimensions"},
		{"unknown tensor type", patch(aType, 99, 4), "unknown or unsupported"},
		{"dim overflow", patch(aDims, 1<<62, 8), "overflows"},
		{"moved offset", patch(aOff, 32, 8), "at offset 32, want 0"},
		{"truncated data", good[:len(good)-62], "past the end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(bytes.NewReader(tc.img), int64(len(tc.img)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestHalf checks F32ToF16 on every half (exact round trip), on every
// midpoint between neighbouring halves (ties to even) and on points just
// either side of them.
func TestHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f != f {
			if g := F32ToF16(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN %#04x -> %#04x", h, g)
			}
			continue
		}
		if g := F32ToF16(f); g != uint16(h) {
			t.Fatalf("%#04x (%g) -> %#04x", h, f, g)
		}
	}
	for h := 0; h < 0x7bff; h++ { // positive finite neighbours h, h+1
		lo, hi := float64(F16ToF32(uint16(h))), float64(F16ToF32(uint16(h+1)))
		mid := float32((lo + hi) / 2) // exact in float32: halves have 11-bit mantissas
		even := uint16(h)
		if h&1 == 1 {
			even = uint16(h + 1)
		}
		if g := F32ToF16(mid); g != even {
			t.Fatalf("midpoint %g of %#04x,%#04x -> %#04x, want %#04x", mid, h, h+1, g, even)
		}
		if g := F32ToF16(math.Nextafter32(mid, 0)); g != uint16(h) {
			t.Fatalf("just below %g -> %#04x", mid, g)
		}
		if g := F32ToF16(math.Nextafter32(mid, 1e9)); g != uint16(h+1) {
			t.Fatalf("just above %g -> %#04x", mid, g)
		}
		if g := F32ToF16(-mid); g != even|0x8000 {
			t.Fatalf("negative midpoint %g -> %#04x", -mid, g)
		}
	}
	for _, tc := range []struct {
		f    float32
		want uint16
	}{
		{65520, 0x7c00},                 // halfway past the largest half rounds up to infinity
		{65519.99, 0x7bff},              // just below stays finite
		{1e10, 0x7c00}, {-1e10, 0xfc00}, // overflow
		{float32(math.Ldexp(1, -25)), 0},        // tie with zero rounds to even (zero)
		{float32(math.Ldexp(1.0001, -25)), 1},   // above the tie rounds up
		{float32(math.Ldexp(1, -30)), 0},        // underflow
		{float32(math.Copysign(0, -1)), 0x8000}, // negative zero
	} {
		if g := F32ToF16(tc.f); g != tc.want {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", tc.f, g, tc.want)
		}
	}
}
