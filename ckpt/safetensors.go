// Safetensors reading: header parsing and validation, and tensor reads that
// convert to float32 straight into the caller's buffer.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON mapping
// each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
// (offsets relative to the data that follows the header) plus an optional
// "__metadata__" string map, then the tensor data.

package ckpt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// MaxHeaderSize bounds the JSON header, as the reference implementation
// does, so a corrupt length cannot make a reader allocate gigabytes.
const MaxHeaderSize = 100 << 20

// TensorInfo describes one tensor of a safetensors file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
	// Begin and End are byte offsets into the data section.
	Begin, End int64
}

// NumElements is the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Header is a parsed, validated safetensors header.
type Header struct {
	Tensors  []TensorInfo // in order of their data offsets
	Metadata map[string]string
}

// Lookup finds a tensor by name.
func (h *Header) Lookup(name string) (TensorInfo, bool) {
	for _, t := range h.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// ParseHeader parses the JSON header of a safetensors file whose data
// section (everything after the header) is dataSize bytes long, and
// validates it: known dtypes, non-negative shapes whose size matches the
// byte range, ranges inside the data section, no two tensors overlapping,
// no duplicate names, string-valued metadata.
func ParseHeader(header []byte, dataSize int64) (*Header, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("header is not a JSON object")
	}
	h := &Header{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("header JSON: object key is not a string")
		}
		if seen[name] {
			return nil, fmt.Errorf("header names %q twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&h.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ must map strings to strings: %w", jsonErr(err))
			}
			continue
		}
		var raw map[string]json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("tensor %q: entry is not a JSON object: %w", name, jsonErr(err))
		}
		t, err := parseEntry(name, raw, dataSize)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		h.Tensors = append(h.Tensors, t)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("header JSON: data after the top-level object")
	}
	slices.SortFunc(h.Tensors, func(a, b TensorInfo) int {
		if a.Begin != b.Begin {
			return cmpInt64(a.Begin, b.Begin)
		}
		return cmpInt64(a.End, b.End)
	})
	for i := 1; i < len(h.Tensors); i++ {
		a, b := h.Tensors[i-1], h.Tensors[i]
		if b.Begin < a.End {
			return nil, fmt.Errorf("tensors %q [%d, %d) and %q [%d, %d) overlap", a.Name, a.Begin, a.End, b.Name, b.Begin, b.End)
		}
	}
	return h, nil
}

// jsonErr names a JSON syntax problem; the decoder reports a truncated
// header as a bare EOF.
func jsonErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("header JSON ends early")
	}
	return fmt.Errorf("header JSON: %w", err)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseEntry validates one tensor entry of the header.
func parseEntry(name string, raw map[string]json.RawMessage, dataSize int64) (TensorInfo, error) {
	t := TensorInfo{Name: name}
	for _, f := range []string{"dtype", "shape", "data_offsets"} {
		if _, ok := raw[f]; !ok {
			return t, fmt.Errorf("missing %q", f)
		}
	}
	var dt string
	if err := json.Unmarshal(raw["dtype"], &dt); err != nil {
		return t, fmt.Errorf("dtype: %w", err)
	}
	t.DType = DType(dt)
	if t.DType.Size() == 0 {
		return t, fmt.Errorf("unknown dtype %q", dt)
	}
	var shape, offs []int64
	if err := json.Unmarshal(raw["shape"], &shape); err != nil {
		return t, fmt.Errorf("shape: %w", err)
	}
	if err := json.Unmarshal(raw["data_offsets"], &offs); err != nil {
		return t, fmt.Errorf("data_offsets: %w", err)
	}
	if len(offs) != 2 {
		return t, fmt.Errorf("data_offsets has %d entries, want 2", len(offs))
	}
	t.Begin, t.End = offs[0], offs[1]
	if t.Begin < 0 || t.End < t.Begin || t.End > dataSize {
		return t, fmt.Errorf("data_offsets [%d, %d) outside the %d-byte data section", t.Begin, t.End, dataSize)
	}
	// The element count times the width must equal the byte range; a range
	// inside the file bounds it, so overflow checks only need that bound.
	bytes := int64(t.DType.Size())
	for _, d := range shape {
		if d < 0 {
			return t, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d > 0 && bytes > math.MaxInt64/d {
			return t, fmt.Errorf("shape %v is too large", shape)
		}
		bytes *= d
		if bytes > dataSize {
			return t, fmt.Errorf("shape %v of %s needs more bytes than the %d-byte data section", shape, dt, dataSize)
		}
		t.Shape = append(t.Shape, int(d))
	}
	if t.Shape == nil {
		t.Shape = []int{}
	}
	if bytes != t.End-t.Begin {
		return t, fmt.Errorf("shape %v of %s is %d bytes but data_offsets [%d, %d) span %d", shape, dt, bytes, t.Begin, t.End, t.End-t.Begin)
	}
	return t, nil
}

// readHeader reads and validates the header of a safetensors image of size
// bytes, returning it and where the data section starts.
func readHeader(r io.ReaderAt, size int64) (*Header, int64, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, 0, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, 0, fmt.Errorf("read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > uint64(size-8) {
		return nil, 0, fmt.Errorf("header length %d exceeds the file size %d", n, size)
	}
	if n > MaxHeaderSize {
		return nil, 0, fmt.Errorf("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 8); err != nil {
		return nil, 0, fmt.Errorf("read header: %w", err)
	}
	h, err := ParseHeader(buf, size-8-int64(n))
	if err != nil {
		return nil, 0, err
	}
	return h, 8 + int64(n), nil
}

// Tensor is a named float32 tensor, as read or to be written.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// ReadFile reads every tensor of the safetensors file at path as float32
// (in data order) together with the metadata. Integer and boolean tensors
// are an error naming them; use Open to read selectively.
func ReadFile(path string) ([]Tensor, map[string]string, error) {
	f, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var bad []string
	for _, t := range f.Tensors {
		if !t.DType.Float() {
			bad = append(bad, fmt.Sprintf("%s (%s)", t.Name, t.DType))
		}
	}
	if len(bad) > 0 {
		return nil, nil, fmt.Errorf("safetensors %s: non-float tensors %s; open the file with ckpt.Open to read the others", path, strings.Join(bad, ", "))
	}
	out := make([]Tensor, len(f.Tensors))
	for i, t := range f.Tensors {
		out[i] = Tensor{Name: t.Name, Shape: slices.Clone(t.Shape), Data: make([]float32, t.NumElements())}
		if err := f.ReadFloat32(t.Name, out[i].Data); err != nil {
			return nil, nil, err
		}
	}
	return out, f.Metadata, nil
}
