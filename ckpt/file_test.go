package ckpt

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// encodeAs stores vals in dtype d (values must be exact in d).
func encodeAs(d DType, vals []float32) []byte {
	var b []byte
	for _, v := range vals {
		switch d {
		case F32:
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		case BF16:
			b = binary.LittleEndian.AppendUint16(b, uint16(math.Float32bits(v)>>16))
		case F64:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(v)))
		case F16:
			b = binary.LittleEndian.AppendUint16(b, f32ToF16Exact(v))
		}
	}
	return b
}

var halfOf = func() map[float32]uint16 {
	m := map[float32]uint16{}
	for h := 0x7bff; h >= 0; h-- { // positive finite halves; -0 and NaN are not needed
		m[-f16ToF32(uint16(h))] = uint16(h) | 0x8000
		m[f16ToF32(uint16(h))] = uint16(h) // last, so 0 encodes as +0
	}
	return m
}()

// f32ToF16Exact encodes a value that is exact in half precision.
func f32ToF16Exact(v float32) uint16 {
	h, ok := halfOf[v]
	if !ok {
		panic(fmt.Sprintf("%g is not a half", v))
	}
	return h
}

// TestReadTransposed reads matrices in every float dtype, spanning many
// steps and with odd widths (rows wider than a step too), straight and
// transposed, both from the mapping and through ReadAt, and checks every
// element.
func TestReadTransposed(t *testing.T) {
	defer func(c int) { chunkBytes = c }(chunkBytes)
	chunkBytes = 4096                 // many steps (and both workers) even for small tensors
	halfVals := make([]float32, 2048) // distinct small integers exact in F16/BF16
	for i := range halfVals {
		halfVals[i] = float32(i%256 - 128)
	}
	for _, d := range []DType{F32, F16, BF16, F64} {
		for _, shape := range [][2]int{{1, 1}, {3, 5}, {71, 1023}, {2, 3001}, {3001, 2}, {1, 5000}} {
			r, c := shape[0], shape[1]
			vals := make([]float32, r*c)
			for i := range vals {
				vals[i] = halfVals[(i*7+i/c)%len(halfVals)]
			}
			data := encodeAs(d, vals)
			header := fmt.Sprintf(`{"m":{"dtype":"%s","shape":[%d,%d],"data_offsets":[0,%d]}}`, d, r, c, len(data))
			p := writeTemp(t, rawFile(header, data))
			for _, mapped := range []bool{true, false} {
				name := fmt.Sprintf("%s/%dx%d/mapped=%v", d, r, c, mapped)
				f, err := Open(p)
				if err != nil {
					t.Fatal(err)
				}
				if !mapped {
					unmapFile(f.mapped)
					f.mapped = nil
				} else if !f.Mapped() {
					t.Fatalf("%s: file was not mapped", name)
				}
				got := make([]float32, r*c)
				if err := f.ReadFloat32("m", got); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, vals) {
					t.Fatalf("%s: straight read differs", name)
				}
				if err := f.ReadFloat32Transposed("m", got); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < r; i++ {
					for j := 0; j < c; j++ {
						if got[j*r+i] != vals[i*c+j] {
							t.Fatalf("%s: transposed [%d,%d] = %g, want %g", name, j, i, got[j*r+i], vals[i*c+j])
						}
					}
				}
				f.Close()
			}
		}
	}
}

func TestReadErrors(t *testing.T) {
	header := `{"v":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"i":{"dtype":"I32","shape":[2,2],"data_offsets":[16,32]}}`
	f, err := Open(writeTemp(t, rawFile(header, make([]byte, 32))))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"missing", func() error { return f.ReadFloat32("nope", make([]float32, 4)) }, `no tensor "nope"`},
		{"int dtype", func() error { return f.ReadFloat32("i", make([]float32, 4)) }, `"i" has dtype I32`},
		{"wrong size", func() error { return f.ReadFloat32("v", make([]float32, 3)) }, "has 4 elements, destination holds 3"},
		{"transpose a vector", func() error { return f.ReadFloat32Transposed("v", make([]float32, 4)) }, "only a matrix"},
	} {
		if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// TestWriteSources checks that Fill-produced tensors are written like given
// ones and that a scratch buffer shared between them does not leak values.
func TestWriteSources(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.safetensors")
	srcs := []Source{
		{Name: "big", Shape: []int{2, 3}, Fill: func(d []float32) {
			for i := range d {
				d[i] = float32(i + 1)
			}
		}},
		{Name: "given", Shape: []int{2}, Data: []float32{7, 8}},
		{Name: "small", Shape: []int{2}, Fill: func(d []float32) { d[0], d[1] = -1, -2 }},
	}
	if err := WriteSources(p, srcs, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	ts, md, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{{1, 2, 3, 4, 5, 6}, {7, 8}, {-1, -2}}
	for i, tt := range ts {
		if tt.Name != srcs[i].Name || !slices.Equal(tt.Data, want[i]) {
			t.Fatalf("tensor %d: %s %v, want %s %v", i, tt.Name, tt.Data, srcs[i].Name, want[i])
		}
	}
	if md["format"] != "pt" {
		t.Fatalf("metadata %v", md)
	}
	if err := WriteSources(p, []Source{{Name: "x", Shape: []int{3}}}, nil); err == nil {
		t.Fatal("a source with neither Data nor Fill was accepted")
	}
}

// mappedRSS returns the resident kilobytes of the mappings of path, from
// /proc/self/smaps.
func mappedRSS(t *testing.T, path string) int {
	raw, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps")
	}
	kb, in := 0, false
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = strings.HasSuffix(l, path)
		} else if in && strings.HasPrefix(l, "Rss:") {
			var n int
			fmt.Sscanf(strings.TrimSpace(l[4:]), "%d", &n)
			kb += n
		}
	}
	return kb
}

// TestReleasesPages checks the memory promise of mapped reads: after reading
// every tensor of a 70 MB file (many small tensors and one large one, read
// in parallel steps), almost none of the file is still in the process's
// resident set, so a load costs the destination buffers and no more.
func TestReleasesPages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("resident pages of a mapping are read from Linux's /proc")
	}
	var ts []Tensor
	for i := range 100 {
		ts = append(ts, Tensor{Name: fmt.Sprint("small", i), Shape: []int{131071}, Data: make([]float32, 131071)})
	}
	ts = append(ts, Tensor{Name: "big", Shape: []int{1000, 5003}, Data: make([]float32, 1000*5003)})
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Write(p, ts, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Mapped() {
		t.Skip("file not mapped")
	}
	for _, tt := range ts {
		dst := make([]float32, len(tt.Data))
		if err := f.ReadFloat32(tt.Name, dst); err != nil {
			t.Fatal(err)
		}
		if tt.Name == "big" {
			if err := f.ReadFloat32Transposed(tt.Name, dst); err != nil {
				t.Fatal(err)
			}
		}
	}
	if kb := mappedRSS(t, p); kb > 4<<10 {
		t.Fatalf("%d KiB of the 70 MB file still resident after reading it all; pages are not released", kb)
	}
}
