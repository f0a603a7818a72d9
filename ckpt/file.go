// Reading tensors out of an open safetensors file: straight into the
// caller's float32 buffer, converting the dtype on the way, optionally
// transposing a matrix (Hugging Face GPT-2 stores its linear layers as
// Conv1D, [in, out]). Large files are memory-mapped; converted pages are
// released as the read moves on, so loading needs about the memory of the
// destination buffers and no second copy.

package ckpt

import (
	"fmt"
	"os"
	"runtime/debug"
)

// chunkBytes is how much source data one step converts before its pages
// are released (and the size of the bounce buffer when not mapped).
const chunkBytes = 1 << 20

// File is an open safetensors file whose header has been validated.
type File struct {
	Header
	path      string
	f         *os.File
	dataStart int64
	mapped    []byte // the whole file, or nil to read with ReadAt
}

// Open opens and validates the safetensors file at path and memory-maps it
// where the platform allows. Errors name the file and what is wrong with it.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	h, start, err := readHeader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	file := &File{Header: *h, path: path, f: f, dataStart: start}
	if file.mapped = mapFile(f, st.Size()); file.mapped != nil {
		adviseSequential(file.mapped)
	}
	return file, nil
}

// Path is the file's path as opened.
func (f *File) Path() string { return f.path }

// Mapped reports whether the file is memory-mapped (else reads use ReadAt).
func (f *File) Mapped() bool { return f.mapped != nil }

// Close unmaps and closes the file.
func (f *File) Close() error {
	var err error
	if f.mapped != nil {
		err = unmapFile(f.mapped)
		f.mapped = nil
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// floatTensor looks up a tensor that is to be read as n float32 values.
func (f *File) floatTensor(name string, n int) (TensorInfo, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return t, fmt.Errorf("safetensors %s: no tensor %q", f.path, name)
	}
	if !t.DType.Float() {
		return t, fmt.Errorf("safetensors %s: tensor %q has dtype %s, which does not convert to float32", f.path, name, t.DType)
	}
	if m := t.NumElements(); m != n {
		return t, fmt.Errorf("safetensors %s: tensor %q has %d elements, destination holds %d", f.path, name, m, n)
	}
	return t, nil
}

// ReadFloat32 reads the named tensor into dst, converting F16, BF16 and F64
// to float32; len(dst) must equal its element count.
func (f *File) ReadFloat32(name string, dst []float32) error {
	t, err := f.floatTensor(name, len(dst))
	if err != nil {
		return err
	}
	size := t.DType.Size()
	step := max(1, chunkBytes/size)
	return f.scan(t, step*size, func(i int, b []byte) {
		decodeFloats(dst[i:i+len(b)/size], b, t.DType)
	})
}

// ReadFloat32Transposed reads the named 2-D tensor of shape [r, c] into dst
// as its transpose, [c, r], converting the dtype as ReadFloat32 does.
func (f *File) ReadFloat32Transposed(name string, dst []float32) error {
	t, err := f.floatTensor(name, len(dst))
	if err != nil {
		return err
	}
	if len(t.Shape) != 2 {
		return fmt.Errorf("safetensors %s: tensor %q has shape %v; only a matrix can be read transposed", f.path, name, t.Shape)
	}
	r, c := t.Shape[0], t.Shape[1]
	if r == 0 || c == 0 {
		return nil
	}
	size := t.DType.Size()
	rows := max(1, chunkBytes/(c*size)) // whole source rows per step
	block := make([]float32, rows*c)
	return f.scan(t, rows*c*size, func(i int, b []byte) {
		n := len(b) / size
		decodeFloats(block[:n], b, t.DType)
		transposeInto(dst, block[:n], i/c, n/c, r, c)
	})
}

// transposeInto writes rows r0..r0+nr of an [r, c] matrix (given in src,
// row-major) into dst, the [c, r] transpose, in tiles so both sides stay in
// cache.
func transposeInto(dst, src []float32, r0, nr, r, c int) {
	const tile = 32
	for j0 := 0; j0 < c; j0 += tile {
		j1 := min(j0+tile, c)
		for i := 0; i < nr; i++ {
			row := src[i*c : (i+1)*c]
			for j := j0; j < j1; j++ {
				dst[j*r+r0+i] = row[j]
			}
		}
	}
}

// scan hands the tensor's bytes to visit in steps of step bytes (a multiple
// of the element size), with the index of the first element of each step.
// From a mapping it passes slices of it and releases each step's pages
// afterwards; otherwise it reads each step into one bounce buffer. A mapped
// file that shrinks under the reader faults; that becomes an error here
// rather than a crash.
func (f *File) scan(t TensorInfo, step int, visit func(i int, b []byte)) (err error) {
	size := t.DType.Size()
	begin, end := f.dataStart+t.Begin, f.dataStart+t.End
	if f.mapped != nil {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("safetensors %s: read tensor %q: fault reading the mapped file (was it truncated?): %v", f.path, t.Name, r)
			}
		}()
		for off := begin; off < end; off += int64(step) {
			hi := min(off+int64(step), end)
			visit(int((off-begin)/int64(size)), f.mapped[off:hi])
			releasePages(f.mapped, off, hi)
		}
		return nil
	}
	buf := make([]byte, min(int64(step), end-begin))
	for off := begin; off < end; off += int64(step) {
		b := buf[:min(int64(step), end-off)]
		if _, err := f.f.ReadAt(b, off); err != nil {
			return fmt.Errorf("safetensors %s: read tensor %q: %w", f.path, t.Name, err)
		}
		visit(int((off-begin)/int64(size)), b)
	}
	return nil
}
