// The GGUF writer: metadata key-values and tensors, laid out as ggml's
// gguf.cpp expects (header, key-values, tensor infos, padding, then each
// tensor's data at an offset aligned to general.alignment).

package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/alignlab/alignlab/ckpt"
)

// KV is one metadata entry. Value is one of uint8, int8, uint16, int16,
// uint32, int32, float32, bool, string, uint64, int64, float64, or a slice
// of one of those (a GGUF array).
type KV struct {
	Key   string
	Value any
}

// Tensor is a tensor to be written.
type Tensor struct {
	Name string
	// Shape is in row-major (PyTorch) order, outermost first; the file
	// stores it reversed, innermost first, as ggml's ne does.
	Shape []int
	// Type is the stored element type, F32 or F16.
	Type TensorType
	// Data holds the values; when nil, Fill writes them into a scratch
	// buffer (reused between tensors) at write time.
	Data []float32
	Fill func(dst []float32)
}

// Writer collects metadata and tensors and writes them as one GGUF file.
type Writer struct {
	// Alignment of tensor data (0 means DefaultAlignment). A value other
	// than the default is recorded as general.alignment.
	Alignment int
	kvs       []KV
	tensors   []Tensor
}

// Set adds a metadata entry. Keys are unique; values must be of a GGUF
// type (see KV).
func (w *Writer) Set(key string, value any) error {
	if key == "" {
		return errors.New("gguf: empty metadata key")
	}
	if slices.ContainsFunc(w.kvs, func(kv KV) bool { return kv.Key == key }) {
		return fmt.Errorf("gguf: metadata key %q set twice", key)
	}
	if _, _, err := valueType(value); err != nil {
		return fmt.Errorf("gguf: metadata key %q: %w", key, err)
	}
	w.kvs = append(w.kvs, KV{key, value})
	return nil
}

// AddTensor adds a tensor; tensors are written in the order added.
func (w *Writer) AddTensor(t Tensor) error {
	switch {
	case t.Name == "" || len(t.Name) > MaxNameLen:
		return fmt.Errorf("gguf: tensor name %q must be 1 to %d bytes", t.Name, MaxNameLen)
	case slices.ContainsFunc(w.tensors, func(u Tensor) bool { return u.Name == t.Name }):
		return fmt.Errorf("gguf: tensor %q added twice", t.Name)
	case len(t.Shape) > MaxDims:
		return fmt.Errorf("gguf: tensor %q: shape %v has more than %d dimensions", t.Name, t.Shape, MaxDims)
	case t.Type != F32 && t.Type != F16:
		return fmt.Errorf("gguf: tensor %q: cannot write %s (F32 and F16 only)", t.Name, t.Type)
	}
	n := 1
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("gguf: tensor %q: negative dimension in shape %v", t.Name, t.Shape)
		}
		n *= d
	}
	if t.Data == nil && t.Fill == nil && n != 0 || t.Data != nil && len(t.Data) != n {
		return fmt.Errorf("gguf: tensor %q: shape %v holds %d elements, data has %d", t.Name, t.Shape, n, len(t.Data))
	}
	t.Shape = slices.Clone(t.Shape)
	if len(t.Shape) == 0 {
		t.Shape = []int{1} // ggml has no rank-0 tensors
	}
	w.tensors = append(w.tensors, t)
	return nil
}

// WriteFile writes the GGUF file to path atomically (temporary file, fsync,
// rename).
func (w *Writer) WriteFile(path string) error {
	if err := ckpt.WriteAtomic(path, func(out io.Writer) error { return w.Write(out) }); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}

// Write writes the GGUF file to out.
func (w *Writer) Write(out io.Writer) error {
	align, kvs := w.Alignment, w.kvs
	i := slices.IndexFunc(kvs, func(kv KV) bool { return kv.Key == "general.alignment" })
	if i >= 0 {
		a, ok := kvs[i].Value.(uint32)
		if !ok || align != 0 && int(a) != align {
			return fmt.Errorf("gguf: general.alignment %v is not a uint32 equal to Writer.Alignment %d", kvs[i].Value, align)
		}
		align = int(a)
	}
	if align == 0 {
		align = DefaultAlignment
	}
	if align < 0 || align > 1<<30 || align&(align-1) != 0 {
		return fmt.Errorf("gguf: alignment %d is not a power of two", align)
	}
	if i < 0 && align != DefaultAlignment {
		kvs = append(slices.Clone(kvs), KV{"general.alignment", uint32(align)})
	}
	e := &encoder{w: bufio.NewWriterSize(out, 1<<20)}
	e.raw([]byte(Magic))
	e.u32(Version)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		e.value(kv.Value)
	}
	var off uint64
	scratch := 0
	for _, t := range w.tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for i := len(t.Shape) - 1; i >= 0; i-- {
			e.u64(uint64(t.Shape[i]))
		}
		e.u32(uint32(t.Type))
		e.u64(off)
		n := numElements(t.Shape)
		off += pad(uint64(n*t.Type.Size()), uint64(align))
		if t.Data == nil {
			scratch = max(scratch, n)
		}
	}
	e.zeros(int(pad(uint64(e.n), uint64(align)) - uint64(e.n)))
	buf := make([]float32, scratch)
	for _, t := range w.tensors {
		n := numElements(t.Shape)
		data := t.Data
		if data == nil {
			data = buf[:n]
			if t.Fill != nil {
				t.Fill(data)
			} else {
				clear(data)
			}
		}
		e.floats(data, t.Type)
		e.zeros(int(pad(uint64(n*t.Type.Size()), uint64(align))) - n*t.Type.Size())
	}
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// pad rounds n up to a multiple of align.
func pad(n, align uint64) uint64 { return (n + align - 1) / align * align }

// valueType returns the GGUF type of a Go value and, for arrays, the
// element type.
func valueType(v any) (ValueType, ValueType, error) {
	switch v.(type) {
	case uint8:
		return TypeUint8, 0, nil
	case int8:
		return TypeInt8, 0, nil
	case uint16:
		return TypeUint16, 0, nil
	case int16:
		return TypeInt16, 0, nil
	case uint32:
		return TypeUint32, 0, nil
	case int32:
		return TypeInt32, 0, nil
	case float32:
		return TypeFloat32, 0, nil
	case bool:
		return TypeBool, 0, nil
	case string:
		return TypeString, 0, nil
	case uint64:
		return TypeUint64, 0, nil
	case int64:
		return TypeInt64, 0, nil
	case float64:
		return TypeFloat64, 0, nil
	case []uint8:
		return TypeArray, TypeUint8, nil
	case []int8:
		return TypeArray, TypeInt8, nil
	case []uint16:
		return TypeArray, TypeUint16, nil
	case []int16:
		return TypeArray, TypeInt16, nil
	case []uint32:
		return TypeArray, TypeUint32, nil
	case []int32:
		return TypeArray, TypeInt32, nil
	case []float32:
		return TypeArray, TypeFloat32, nil
	case []bool:
		return TypeArray, TypeBool, nil
	case []string:
		return TypeArray, TypeString, nil
	case []uint64:
		return TypeArray, TypeUint64, nil
	case []int64:
		return TypeArray, TypeInt64, nil
	case []float64:
		return TypeArray, TypeFloat64, nil
	}
	return 0, 0, fmt.Errorf("value of type %T has no GGUF type", v)
}

// encoder writes little-endian GGUF primitives, remembering the first error
// and the byte count.
type encoder struct {
	w   *bufio.Writer
	n   int
	err error
	b   [8]byte
}

func (e *encoder) raw(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
		e.n += len(p)
	}
}

func (e *encoder) u8(v uint8) { e.raw([]byte{v}) }
func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.b[:], v)
	e.raw(e.b[:2])
}
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.b[:], v)
	e.raw(e.b[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.b[:], v)
	e.raw(e.b[:8])
}
func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}
func (e *encoder) zeros(n int) { e.raw(make([]byte, n)) }

// value writes a type tag and the value (valueType has vetted it).
func (e *encoder) value(v any) {
	t, elem, _ := valueType(v)
	e.u32(uint32(t))
	if t == TypeArray {
		e.u32(uint32(elem))
	}
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		e.u8(b2u8(x))
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case []uint8:
		e.u64(uint64(len(x)))
		e.raw(x)
	case []int8:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.u8(uint8(y))
		}
	case []uint16:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.u16(y)
		}
	case []int16:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.u16(uint16(y))
		}
	case []uint32:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.u32(y)
		}
	case []int32:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.u32(uint32(y))
		}
	case []float32:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.u32(math.Float32bits(y))
		}
	case []bool:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.u8(b2u8(y))
		}
	case []string:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.str(y)
		}
	case []uint64:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.u64(y)
		}
	case []int64:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.u64(uint64(y))
		}
	case []float64:
		e.u64(uint64(len(x)))
		for _, y := range x {
			e.u64(math.Float64bits(y))
		}
	}
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// floats writes values as F32 or F16, in blocks.
func (e *encoder) floats(data []float32, t TensorType) {
	const block = 1 << 14
	buf := make([]byte, block*4)
	for i := 0; i < len(data); i += block {
		part := data[i:min(i+block, len(data))]
		var b []byte
		if t == F16 {
			b = buf[:2*len(part)]
			for j, v := range part {
				binary.LittleEndian.PutUint16(b[2*j:], F32ToF16(v))
			}
		} else {
			b = buf[:4*len(part)]
			for j, v := range part {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(v))
			}
		}
		e.raw(b)
	}
}
