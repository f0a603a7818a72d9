// The GGUF reader, for tests, inspection and fuzzing: it validates a file
// as strictly as ggml's gguf.cpp (magic, version, unique keys, known types,
// at most 4 dimensions without overflow, tensors packed in order at aligned
// offsets inside the file) and never allocates more than the file could
// hold.

package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// MaxStringLen bounds one metadata string (chat templates are kilobytes;
// this only stops a corrupt length from allocating gigabytes).
const MaxStringLen = 16 << 20

// File is a parsed, validated GGUF header.
type File struct {
	Version   uint32
	KV        []KV
	Tensors   []TensorInfo // in file order
	Alignment int
	// DataStart is the absolute offset of the tensor data section.
	DataStart int64
}

// TensorInfo describes one tensor of a GGUF file.
type TensorInfo struct {
	Name string
	// Dims is ggml's ne: innermost dimension first.
	Dims []uint64
	Type TensorType
	// Offset is relative to the data section; Bytes is the data's size.
	Offset, Bytes uint64
}

// Shape is the tensor's shape in row-major (PyTorch) order.
func (t TensorInfo) Shape() []int {
	s := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		s[len(s)-1-i] = int(d)
	}
	return s
}

// NumElements is the product of the dimensions.
func (t TensorInfo) NumElements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Get returns the value of a metadata key.
func (f *File) Get(key string) (any, bool) {
	for _, kv := range f.KV {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Lookup finds a tensor by name.
func (f *File) Lookup(name string) (TensorInfo, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// blockInfo gives ggml's block size (elements) and block bytes for the
// types whose layout the reader knows, so it can size quantized tensors it
// cannot decode.
func blockInfo(t TensorType) (elems, bytes uint64, ok bool) {
	switch t {
	case F32, 26: // F32, I32
		return 1, 4, true
	case F16, BF16, 25: // I16
		return 1, 2, true
	case 24: // I8
		return 1, 1, true
	case 27, 28: // I64, F64
		return 1, 8, true
	case 2: // Q4_0
		return 32, 18, true
	case 3: // Q4_1
		return 32, 20, true
	case 6: // Q5_0
		return 32, 22, true
	case 7: // Q5_1
		return 32, 24, true
	case 8: // Q8_0
		return 32, 34, true
	case 9: // Q8_1
		return 32, 36, true
	case 10: // Q2_K
		return 256, 84, true
	case 11: // Q3_K
		return 256, 110, true
	case 12: // Q4_K
		return 256, 144, true
	case 13: // Q5_K
		return 256, 176, true
	case 14: // Q6_K
		return 256, 210, true
	case 15: // Q8_K
		return 256, 292, true
	}
	return 0, 0, false
}

// Parse reads and validates the header of a GGUF image of size bytes.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	c := &cursor{r: r, size: size}
	magic, err := c.bytes(4)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("gguf: bad magic %q, want %q", magic, Magic)
	}
	f := &File{Alignment: DefaultAlignment}
	if f.Version, err = c.u32(); err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if f.Version != 2 && f.Version != 3 {
		return nil, fmt.Errorf("gguf: version %d not supported (2 and 3 are; a byte-swapped version means a big-endian file)", f.Version)
	}
	nTensors, err := c.u64()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	nKV, err := c.u64()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	// Each entry takes at least 13 bytes and each tensor info 24, which
	// bounds the counts before anything is allocated for them.
	if nKV > uint64(c.left())/13 || nTensors > uint64(c.left())/24 {
		return nil, fmt.Errorf("gguf: %d metadata entries and %d tensors cannot fit in a %d-byte file", nKV, nTensors, size)
	}
	for i := uint64(0); i < nKV; i++ {
		kv, err := c.kv()
		if err != nil {
			return nil, fmt.Errorf("gguf: metadata entry %d: %w", i, err)
		}
		if _, dup := f.Get(kv.Key); dup {
			return nil, fmt.Errorf("gguf: metadata key %q appears twice", kv.Key)
		}
		f.KV = append(f.KV, kv)
	}
	if v, ok := f.Get("general.alignment"); ok {
		a, isU32 := v.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("gguf: general.alignment %v is not a uint32 power of two", v)
		}
		f.Alignment = int(a)
	}
	var next uint64 // where the next tensor must start, as gguf.cpp requires
	for i := uint64(0); i < nTensors; i++ {
		t, err := c.tensorInfo()
		if err != nil {
			return nil, fmt.Errorf("gguf: tensor %d: %w", i, err)
		}
		if slices.ContainsFunc(f.Tensors, func(u TensorInfo) bool { return u.Name == t.Name }) {
			return nil, fmt.Errorf("gguf: tensor %q appears twice", t.Name)
		}
		if t.Offset != next {
			return nil, fmt.Errorf("gguf: tensor %q at offset %d, want %d (tensors are packed in order at %d-byte alignment)", t.Name, t.Offset, next, f.Alignment)
		}
		next = pad(t.Offset+t.Bytes, uint64(f.Alignment))
		f.Tensors = append(f.Tensors, t)
	}
	f.DataStart = int64(pad(uint64(c.off), uint64(f.Alignment)))
	for _, t := range f.Tensors {
		if f.DataStart > size || t.Offset+t.Bytes > uint64(size-f.DataStart) {
			return nil, fmt.Errorf("gguf: tensor %q data [%d, %d) lies past the end of the %d-byte file", t.Name, f.DataStart+int64(t.Offset), f.DataStart+int64(t.Offset+t.Bytes), size)
		}
	}
	return f, nil
}

// Reader is an open GGUF file.
type Reader struct {
	*File
	f    *os.File
	path string
}

// Open opens and validates the GGUF file at path.
func Open(path string) (*Reader, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := Parse(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Reader{File: f, f: fh, path: path}, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// ReadFloat32 reads an F32, F16 or BF16 tensor as float32, in row-major
// order of Shape().
func (r *Reader) ReadFloat32(name string) ([]float32, error) {
	return r.File.ReadFloat32(r.f, name)
}

// ReadFloat32 reads an F32, F16 or BF16 tensor of the file whose bytes r
// holds.
func (f *File) ReadFloat32(r io.ReaderAt, name string) ([]float32, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("gguf: no tensor %q", name)
	}
	if t.Type.Size() == 0 {
		return nil, fmt.Errorf("gguf: tensor %q is %s; only F32, F16 and BF16 are read", name, t.Type)
	}
	b := make([]byte, t.Bytes)
	if _, err := r.ReadAt(b, f.DataStart+int64(t.Offset)); err != nil {
		return nil, fmt.Errorf("gguf: read tensor %q: %w", name, err)
	}
	out := make([]float32, t.NumElements())
	for i := range out {
		switch t.Type {
		case F32:
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		case F16:
			out[i] = F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		case BF16:
			out[i] = BF16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return out, nil
}

// cursor reads little-endian GGUF primitives, checking every length
// against the bytes left before allocating.
type cursor struct {
	r         io.ReaderAt
	off, size int64
	b         [8]byte
}

func (c *cursor) left() int64 { return c.size - c.off }

func (c *cursor) bytes(n int64) ([]byte, error) {
	if n < 0 || n > c.left() {
		return nil, fmt.Errorf("needs %d bytes at offset %d of a %d-byte file", n, c.off, c.size)
	}
	var b []byte
	if n <= int64(len(c.b)) {
		b = c.b[:n]
	} else {
		b = make([]byte, n)
	}
	if _, err := c.r.ReadAt(b, c.off); err != nil {
		return nil, fmt.Errorf("read at offset %d: %w", c.off, err)
	}
	c.off += n
	return b, nil
}

func (c *cursor) u8() (uint8, error) {
	b, err := c.bytes(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (c *cursor) u16() (uint16, error) {
	b, err := c.bytes(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (c *cursor) u32() (uint32, error) {
	b, err := c.bytes(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (c *cursor) u64() (uint64, error) {
	b, err := c.bytes(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (c *cursor) str() (string, error) {
	n, err := c.u64()
	if err != nil {
		return "", err
	}
	if n > MaxStringLen {
		return "", fmt.Errorf("string length %d exceeds the %d-byte limit", n, MaxStringLen)
	}
	if n > uint64(c.left()) {
		return "", fmt.Errorf("string length %d at offset %d runs past the end of the %d-byte file", n, c.off, c.size)
	}
	b, err := c.bytes(int64(n))
	return string(b), err
}

func (c *cursor) kv() (KV, error) {
	key, err := c.str()
	if err != nil {
		return KV{}, fmt.Errorf("key: %w", err)
	}
	t, err := c.u32()
	if err != nil {
		return KV{}, fmt.Errorf("key %q: %w", key, err)
	}
	v, err := c.value(ValueType(t))
	if err != nil {
		return KV{}, fmt.Errorf("key %q: %w", key, err)
	}
	return KV{key, v}, nil
}

// value reads one value of type t; arrays may not nest.
func (c *cursor) value(t ValueType) (any, error) {
	if t == TypeArray {
		et, err := c.u32()
		if err != nil {
			return nil, err
		}
		n, err := c.u64()
		if err != nil {
			return nil, err
		}
		return c.array(ValueType(et), n)
	}
	switch t {
	case TypeUint8:
		return c.u8()
	case TypeInt8:
		v, err := c.u8()
		return int8(v), err
	case TypeUint16:
		return c.u16()
	case TypeInt16:
		v, err := c.u16()
		return int16(v), err
	case TypeUint32:
		return c.u32()
	case TypeInt32:
		v, err := c.u32()
		return int32(v), err
	case TypeFloat32:
		v, err := c.u32()
		return math.Float32frombits(v), err
	case TypeBool:
		v, err := c.u8()
		if err == nil && v > 1 {
			err = fmt.Errorf("bool byte %d is neither 0 nor 1", v)
		}
		return v == 1, err
	case TypeString:
		return c.str()
	case TypeUint64:
		return c.u64()
	case TypeInt64:
		v, err := c.u64()
		return int64(v), err
	case TypeFloat64:
		v, err := c.u64()
		return math.Float64frombits(v), err
	}
	return nil, fmt.Errorf("unknown value type %d", t)
}

// array reads n elements of type t into a typed slice.
func (c *cursor) array(t ValueType, n uint64) (any, error) {
	min := t.scalarSize()
	switch {
	case t == TypeArray:
		return nil, errors.New("nested arrays are not supported")
	case min < 0:
		return nil, fmt.Errorf("array of unknown value type %d", t)
	case t == TypeString:
		min = 8 // each string has its length prefix
	}
	if n > uint64(c.left())/uint64(min) {
		return nil, fmt.Errorf("array of %d elements of type %d cannot fit in the %d bytes left", n, t, c.left())
	}
	switch t {
	case TypeString:
		out := make([]string, 0, n)
		for range n {
			s, err := c.str()
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	case TypeUint8, TypeInt8, TypeBool:
		b, err := c.bytes(int64(n))
		if err != nil {
			return nil, err
		}
		switch t {
		case TypeUint8:
			return slices.Clone(b), nil
		case TypeInt8:
			out := make([]int8, n)
			for i, v := range b {
				out[i] = int8(v)
			}
			return out, nil
		}
		out := make([]bool, n)
		for i, v := range b {
			if v > 1 {
				return nil, fmt.Errorf("bool byte %d is neither 0 nor 1", v)
			}
			out[i] = v == 1
		}
		return out, nil
	}
	b, err := c.bytes(int64(n) * int64(min))
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	switch t {
	case TypeUint16:
		return decodeSlice(b, 2, func(p []byte) uint16 { return le.Uint16(p) }), nil
	case TypeInt16:
		return decodeSlice(b, 2, func(p []byte) int16 { return int16(le.Uint16(p)) }), nil
	case TypeUint32:
		return decodeSlice(b, 4, func(p []byte) uint32 { return le.Uint32(p) }), nil
	case TypeInt32:
		return decodeSlice(b, 4, func(p []byte) int32 { return int32(le.Uint32(p)) }), nil
	case TypeFloat32:
		return decodeSlice(b, 4, func(p []byte) float32 { return math.Float32frombits(le.Uint32(p)) }), nil
	case TypeUint64:
		return decodeSlice(b, 8, func(p []byte) uint64 { return le.Uint64(p) }), nil
	case TypeInt64:
		return decodeSlice(b, 8, func(p []byte) int64 { return int64(le.Uint64(p)) }), nil
	}
	return decodeSlice(b, 8, func(p []byte) float64 { return math.Float64frombits(le.Uint64(p)) }), nil
}

func decodeSlice[T any](b []byte, w int, dec func([]byte) T) []T {
	out := make([]T, len(b)/w)
	for i := range out {
		out[i] = dec(b[i*w:])
	}
	return out
}

// tensorInfo reads one tensor's name, dimensions, type and offset.
func (c *cursor) tensorInfo() (TensorInfo, error) {
	var t TensorInfo
	var err error
	if t.Name, err = c.str(); err != nil {
		return t, fmt.Errorf("name: %w", err)
	}
	if len(t.Name) > MaxNameLen {
		return t, fmt.Errorf("name %.20q... is %d bytes, over ggml's %d", t.Name, len(t.Name), MaxNameLen)
	}
	nd, err := c.u32()
	if err != nil {
		return t, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if nd > MaxDims {
		return t, fmt.Errorf("tensor %q has %d dimensions, over ggml's %d", t.Name, nd, MaxDims)
	}
	elems := uint64(1)
	for range nd {
		d, err := c.u64()
		if err != nil {
			return t, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if d > math.MaxInt64 || d != 0 && elems > math.MaxInt64/d {
			return t, fmt.Errorf("tensor %q: dimensions overflow", t.Name)
		}
		elems *= d
		t.Dims = append(t.Dims, d)
	}
	typ, err := c.u32()
	if err != nil {
		return t, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	t.Type = TensorType(typ)
	blk, blkBytes, ok := blockInfo(t.Type)
	if !ok {
		return t, fmt.Errorf("tensor %q: unknown or unsupported %s", t.Name, t.Type)
	}
	if len(t.Dims) > 0 && t.Dims[0]%blk != 0 {
		return t, fmt.Errorf("tensor %q: row of %d elements is not a whole number of %d-element %s blocks", t.Name, t.Dims[0], blk, t.Type)
	}
	if elems/blk > math.MaxInt64/blkBytes {
		return t, fmt.Errorf("tensor %q: size overflows", t.Name)
	}
	t.Bytes = elems / blk * blkBytes
	if t.Offset, err = c.u64(); err != nil {
		return t, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if t.Offset > math.MaxInt64/2 {
		return t, fmt.Errorf("tensor %q: offset %d out of range", t.Name, t.Offset)
	}
	return t, nil
}
