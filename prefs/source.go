package prefs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alignlab/alignlab/internal/textfile"
	"github.com/parquet-go/parquet-go"
)

// DefaultMaxLineBytes bounds one JSONL line; a longer line is reported as
// invalid and skipped (the rest of it is read and discarded, so the next
// line is still found).
const DefaultMaxLineBytes = 16 << 20

// lineSource yields the records of one file: JSONL lines (plain or gzip) or
// Parquet rows re-encoded as JSON objects.
type lineSource interface {
	// next returns the next record and its 1-based line (or row) number.
	// A non-nil rowErr is a problem with this record only (too long);
	// err is io.EOF at the end or a fatal read error.
	next() (rec []byte, line int, rowErr error, err error)
	close() error
}

var parquetMagic = []byte("PAR1")

// openSource opens path, detecting gzip and Parquet by their magic bytes.
func openSource(path string, maxLine int) (lineSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	switch {
	case n == 4 && bytes.Equal(head[:], parquetMagic):
		return openParquet(f)
	case n >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &jsonlSource{r: bufio.NewReaderSize(zr, 1<<20), max: maxLine, closers: []io.Closer{zr, f}}, nil
	}
	return &jsonlSource{r: bufio.NewReaderSize(f, 1<<20), max: maxLine, closers: []io.Closer{f}}, nil
}

// jsonlSource reads newline-delimited records with a hard per-line limit.
type jsonlSource struct {
	r       *bufio.Reader
	max     int
	line    int
	buf     []byte
	closers []io.Closer
}

// ErrLineTooLong is the row error for a line over the limit.
var ErrLineTooLong = errors.New("line too long")

func (s *jsonlSource) next() ([]byte, int, error, error) {
	s.buf = s.buf[:0]
	tooLong := false
	for {
		chunk, err := s.r.ReadSlice('\n')
		if !tooLong {
			// +2: room for a "\r\n" ending, which does not count toward
			// the limit; the line's own length is checked once it ends.
			if len(s.buf)+len(chunk) > s.max+2+s.bomRoom() {
				tooLong = true
				s.buf = s.buf[:0]
			} else {
				s.buf = append(s.buf, chunk...)
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(s.buf) == 0 && !tooLong && len(chunk) == 0 {
				return nil, s.line, nil, io.EOF
			}
		default:
			return nil, s.line + 1, nil, err
		}
		s.line++
		rec := bytes.TrimRight(s.buf, "\r\n")
		if s.line == 1 {
			// Editors on Windows start a file with a byte order mark;
			// it is not part of the first row.
			rec = textfile.Trim(rec)
		}
		if tooLong || len(rec) > s.max {
			return nil, s.line, fmt.Errorf("%w: over %d bytes", ErrLineTooLong, s.max), nil
		}
		return rec, s.line, nil, nil
	}
}

// bomRoom is how many bytes over the limit the line being read may hold
// before it is trimmed: a byte order mark's, on line 1.
func (s *jsonlSource) bomRoom() int {
	if s.line == 0 {
		return len(textfile.BOM)
	}
	return 0
}

func (s *jsonlSource) close() error {
	var first error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// parquetSource streams a Parquet file one row group at a time and turns
// each row into a JSON object, so that every format decoder works on
// Parquet exactly as on JSONL.
type parquetSource struct {
	f      *os.File
	groups []parquet.RowGroup
	g      int
	rd     *parquet.Reader
	row    int
}

func openParquet(f *os.File) (lineSource, error) {
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("parquet: %w", err)
	}
	return &parquetSource{f: f, groups: pf.RowGroups()}, nil
}

func (s *parquetSource) next() (rec []byte, line int, rowErr error, err error) {
	defer func() {
		// parquet-go panics on some corrupt files; a bad file is an error
		// for the user to see, not a crash.
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet row group %d: %v", s.g, p)
		}
	}()
	for {
		if s.rd == nil {
			if s.g >= len(s.groups) {
				return nil, s.row, nil, io.EOF
			}
			s.rd = parquet.NewRowGroupReader(s.groups[s.g])
		}
		m := map[string]any{}
		if err := s.rd.Read(&m); err != nil {
			if errors.Is(err, io.EOF) {
				s.rd.Close()
				s.rd = nil
				s.g++
				continue
			}
			return nil, s.row + 1, nil, fmt.Errorf("parquet row %d: %w", s.row+1, err)
		}
		s.row++
		b, err := json.Marshal(m)
		if err != nil {
			return nil, s.row, fmt.Errorf("parquet row: %w", err), nil
		}
		return b, s.row, nil, nil
	}
}

func (s *parquetSource) close() error {
	if s.rd != nil {
		s.rd.Close()
	}
	return s.f.Close()
}
