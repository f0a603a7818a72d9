// Reading tensors out of an open safetensors file: straight into the
// caller's float32 buffer, converting the dtype on the way, optionally
// transposing a matrix (Hugging Face GPT-2 stores its linear layers as
// Conv1D, [in, out]). Large files are memory-mapped; converted pages are
// released as the read moves on, so loading needs about the memory of the
// destination buffers and no second copy.

package ckpt

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// mapSlack is how far around a faulting address the kernel may map pages
// that are already in the page cache: fault-around maps a 64 KiB window,
// and kernels that keep files in large folios map up to a whole folio
// (seen: about 1 MiB on Linux 6.18). Releases reach that far back, and a
// last release that far around each tensor, or those pages would stay
// mapped and the resident set would grow by a few percent of the file.
const mapSlack = 2 << 20

// chunkBytes is how much source data one step converts before its pages
// are released (and the size of the bounce buffer when not mapped). Tests
// shrink it to cover many steps with small tensors.
var chunkBytes = 1 << 20

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
	return f.scan(t, step*size, func(_, i int, b []byte) {
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
	blocks := make([][]float32, runtime.GOMAXPROCS(0))
	return f.scan(t, rows*c*size, func(w, i int, b []byte) {
		n := len(b) / size
		src := asFloat32s(b)
		if t.DType != F32 || src == nil {
			if blocks[w] == nil {
				blocks[w] = make([]float32, rows*c)
			}
			src = blocks[w][:n]
			decodeFloats(src, b, t.DType)
		}
		transposeInto(dst, src, i/c, n/c, r, c)
	})
}

// transposeInto writes rows r0..r0+nr of an [r, c] matrix (given in src,
// row-major) into dst, the [c, r] transpose. Eight source rows go at once,
// so each store fills eight consecutive floats of a destination row (about
// twice as fast as one element at a time).
func transposeInto(dst, src []float32, r0, nr, r, c int) {
	i := 0
	for ; i+8 <= nr; i += 8 {
		s0, s1 := src[i*c:(i+1)*c], src[(i+1)*c:(i+2)*c]
		s2, s3 := src[(i+2)*c:(i+3)*c], src[(i+3)*c:(i+4)*c]
		s4, s5 := src[(i+4)*c:(i+5)*c], src[(i+5)*c:(i+6)*c]
		s6, s7 := src[(i+6)*c:(i+7)*c], src[(i+7)*c:(i+8)*c]
		for j := range c {
			o := j*r + r0 + i
			d := dst[o : o+8 : o+8]
			d[0], d[1], d[2], d[3] = s0[j], s1[j], s2[j], s3[j]
			d[4], d[5], d[6], d[7] = s4[j], s5[j], s6[j], s7[j]
		}
	}
	for ; i < nr; i++ {
		for j, v := range src[i*c : (i+1)*c] {
			dst[j*r+r0+i] = v
		}
	}
}

// scan hands the tensor's bytes to visit in steps of step bytes (a multiple
// of the element size), with the index of the first element of each step.
// From a mapping, up to GOMAXPROCS workers take steps in parallel (visit
// gets the worker's number, for scratch buffers), passing slices of the
// mapping and releasing each step's pages afterwards. Otherwise one worker
// reads each step into a bounce buffer. A mapped file that shrinks under the
// reader faults; that becomes an error here rather than a crash.
func (f *File) scan(t TensorInfo, step int, visit func(worker, i int, b []byte)) error {
	size := t.DType.Size()
	begin, end := f.dataStart+t.Begin, f.dataStart+t.End
	if f.mapped == nil {
		buf := make([]byte, min(int64(step), end-begin))
		for off := begin; off < end; off += int64(step) {
			b := buf[:min(int64(step), end-off)]
			if _, err := f.f.ReadAt(b, off); err != nil {
				return fmt.Errorf("safetensors %s: read tensor %q: %w", f.path, t.Name, err)
			}
			visit(0, int((off-begin)/int64(size)), b)
		}
		return nil
	}
	steps := int((end - begin + int64(step) - 1) / int64(step))
	workers := min(runtime.GOMAXPROCS(0), steps)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		// Each worker takes a contiguous run of steps, so its releases
		// reaching back mapSlack only drop pages it has finished with.
		first, last := w*steps/workers, (w+1)*steps/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() {
				if r := recover(); r != nil {
					errs[w] = fmt.Errorf("safetensors %s: read tensor %q: fault reading the mapped file (was it truncated?): %v", f.path, t.Name, r)
				}
			}()
			runStart := begin + int64(first)*int64(step)
			for k := first; k < last; k++ {
				off := begin + int64(k)*int64(step)
				hi := min(off+int64(step), end)
				visit(w, int((off-begin)/int64(size)), f.mapped[off:hi])
				releasePages(f.mapped, max(runStart, off-mapSlack), hi)
			}
		}()
	}
	wg.Wait()
	releasePages(f.mapped, begin-mapSlack, end+mapSlack)
	return errors.Join(errs...)
}
