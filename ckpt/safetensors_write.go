package ckpt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// Write stores tensors as an F32 safetensors file at path, atomically (see
// WriteAtomic), in the given order, with metadata (may be nil) under
// "__metadata__". The header is padded with spaces so the data starts
// 8-byte aligned, as the reference writer does.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	srcs := make([]Source, len(tensors))
	for i, t := range tensors {
		srcs[i] = Source{Name: t.Name, Shape: t.Shape, Data: t.Data}
	}
	return WriteSources(path, srcs, metadata)
}

// Source is a tensor to be written whose values are either given (Data) or
// produced on demand (Fill), for tensors that are stored in another layout
// than they live in memory (a transpose, a slice of a fused matrix).
type Source struct {
	Name  string
	Shape []int
	// Data holds the values; when nil, Fill is called instead.
	Data []float32
	// Fill writes the values into dst, a scratch buffer of the tensor's
	// element count that is reused for the next tensor.
	Fill func(dst []float32)
}

// WriteSources is Write for Sources: tensors with a Fill function are
// produced one at a time into one scratch buffer, so writing a model in a
// different layout needs memory for its largest tensor, not a second copy.
func WriteSources(path string, srcs []Source, metadata map[string]string) error {
	header, err := encodeHeader(srcs, metadata)
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	var scratch []float32
	for _, s := range srcs {
		if s.Data == nil && s.Fill != nil {
			scratch = make([]float32, max(len(scratch), numElements(s.Shape)))
		}
	}
	return WriteAtomic(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(header); err != nil {
			return err
		}
		buf := make([]byte, 4<<16)
		for _, s := range srcs {
			data := s.Data
			if data == nil && s.Fill != nil {
				data = scratch[:numElements(s.Shape)]
				s.Fill(data)
			}
			for i := 0; i < len(data); i += 1 << 16 {
				part := data[i:min(i+1<<16, len(data))]
				for j, v := range part {
					binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
				}
				if _, err := w.Write(buf[:4*len(part)]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// encodeHeader builds the padded JSON header, checking the tensors first.
func encodeHeader(tensors []Source, metadata map[string]string) ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	if len(metadata) > 0 {
		md, err := json.Marshal(metadata)
		if err != nil {
			return nil, err
		}
		b.WriteString(`"__metadata__":`)
		b.Write(md)
	}
	seen := map[string]bool{}
	var off int64
	for i, t := range tensors {
		switch {
		case t.Name == "" || t.Name == "__metadata__":
			return nil, fmt.Errorf("tensor %d: invalid name %q", i, t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("tensor %q given twice", t.Name)
		}
		seen[t.Name] = true
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			n *= d
		}
		if (t.Data != nil || t.Fill == nil) && n != len(t.Data) {
			return nil, fmt.Errorf("tensor %q: shape %v holds %d elements, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
		name, _ := json.Marshal(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		sh, _ := json.Marshal(shape)
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		end := off + 4*int64(n)
		fmt.Fprintf(&b, `%s:{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, name, sh, off, end)
		off = end
	}
	b.WriteByte('}')
	for (8+b.Len())%8 != 0 {
		b.WriteByte(' ')
	}
	return []byte(b.String()), nil
}
