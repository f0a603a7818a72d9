package prefs

import (
	"context"
	"errors"
	"hash/maphash"
	"unicode/utf8"

	"github.com/alignlab/alignlab/prefs/internal/jsonscan"
)

// ReadOptions configure Read.
type ReadOptions struct {
	Format       Format // FormatAuto detects per file
	Fields       Fields
	MaxLineBytes int // (DefaultMaxLineBytes)
	Workers      int // (GOMAXPROCS)
}

// Read streams every row of files, in file order, to fn: a decoded
// comparison, or the row's error (fn decides whether to go on; returning
// an error stops the read). line is 1-based (the row number for Parquet).
func Read(ctx context.Context, files []string, o ReadOptions, fn func(file string, line int, c *Comparison, rowErr error) error) error {
	cfg := scanConfig{files: files, format: o.Format, fields: o.Fields, maxLine: o.MaxLineBytes,
		workers: o.Workers, keep: true, seed: maphash.MakeSeed()}
	return scan(ctx, cfg, func(pb *parsedBatch) error {
		for i := range pb.rows {
			p := &pb.rows[i]
			if err := fn(files[pb.file], p.line, p.cmp, p.err); err != nil {
				return err
			}
		}
		return nil
	})
}

// DecodeLine decodes one JSON line in the given format (FormatAuto
// detects it from the keys). It is what the readers do per row.
func DecodeLine(line []byte, format Format, fields Fields) (*Comparison, error) {
	if !utf8.Valid(line) {
		return nil, errors.New("invalid UTF-8")
	}
	fs, err := jsonscan.Object(line, nil)
	if err != nil {
		return nil, err
	}
	if format == FormatAuto {
		format = Detect(fs)
	}
	d := decoder{format: format, fields: fields}
	c := &Comparison{}
	if err := d.decode(fs, c); err != nil {
		return nil, err
	}
	return c, nil
}
