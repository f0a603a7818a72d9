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
	header, err := encodeHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
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
		for _, t := range tensors {
			for i := 0; i < len(t.Data); i += 1 << 16 {
				part := t.Data[i:min(i+1<<16, len(t.Data))]
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

// encodeHeader builds the padded JSON header, checking the tensors first.
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, error) {
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
		if n != len(t.Data) {
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
