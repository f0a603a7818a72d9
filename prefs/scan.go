package prefs

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"runtime"
	"sync"
	"unicode/utf8"

	"github.com/alignlab/alignlab/prefs/internal/jsonscan"
)

// The scan is a three-stage pipeline: one goroutine reads records into
// batches, GOMAXPROCS workers validate, decode and fingerprint them, and
// the caller's collector receives the parsed batches in file order (so that
// row numbering, "first seen" and error order are deterministic whatever
// the scheduling). Memory in flight is bounded by the channel depths.

const (
	batchRecords = 1024
	batchBytes   = 1 << 20
)

type recRef struct {
	off, end int
	line     int
	err      error // a record-level read error (line too long)
}

type rawBatch struct {
	seq    int
	file   int
	format Format
	data   []byte
	recs   []recRef
}

// parsedRow is what a worker extracts from one record.
type parsedRow struct {
	line      int
	err       error
	exact     uint64 // raw prompt, responses, winner, annotator
	norm      uint64 // the same after normalization
	item      uint64 // normalized prompt and unordered response pair
	prompt    uint64 // normalized prompt
	hA, hB    uint64 // normalized responses
	winner    Winner
	shown     Shown
	annotator string
	time      float64
	hasTime   bool
	clock     bool
	longer    int8 // 0: A longer, 1: B longer, -1: neither by minLengthRatio
	belief    int8 // 0: only A agrees with the stated belief, 1: only B, -1: n/a
	cmp       *Comparison
}

type parsedBatch struct {
	seq    int
	file   int
	format Format
	rows   []parsedRow
}

type scanConfig struct {
	files      []string
	format     Format
	fields     Fields
	maxLine    int
	workers    int
	keep       bool // keep the decoded Comparison (export pass)
	seed       maphash.Seed
	onProgress func(file int, line int)
}

// scan runs the pipeline and calls collect for every batch in order. It
// stops at the first error from collect or a fatal read error.
func scan(ctx context.Context, cfg scanConfig, collect func(*parsedBatch) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := cfg.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	raw := make(chan *rawBatch, workers*2)
	parsed := make(chan *parsedBatch, workers*2)
	var readErr error
	go func() {
		defer close(raw)
		readErr = readAll(ctx, cfg, raw)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker{cfg: cfg, h: hasher{seed: cfg.seed}}
			for rb := range raw {
				pb := w.parse(rb)
				select {
				case parsed <- pb:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() { wg.Wait(); close(parsed) }()

	pending := map[int]*parsedBatch{}
	nextSeq := 0
	var collectErr error
	for pb := range parsed {
		if collectErr != nil {
			continue // drain so that the workers can exit
		}
		pending[pb.seq] = pb
		for {
			b, ok := pending[nextSeq]
			if !ok {
				break
			}
			delete(pending, nextSeq)
			nextSeq++
			if err := collect(b); err != nil {
				collectErr = err
				cancel()
				break
			}
		}
	}
	if collectErr != nil {
		return collectErr
	}
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return readErr
	}
	return ctx.Err()
}

func readAll(ctx context.Context, cfg scanConfig, out chan<- *rawBatch) error {
	seq := 0
	maxLine := cfg.maxLine
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	var fields []jsonscan.Field
	for fi, path := range cfg.files {
		src, err := openSource(path, maxLine)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return err // it names the file already: "open x.jsonl: no such file or directory"
			}
			return fmt.Errorf("open %s: %w", path, err)
		}
		format := cfg.format
		detected := format != FormatAuto
		if !detected {
			format = FormatTRL
		}
		b := &rawBatch{seq: seq, file: fi}
		flush := func() error {
			b.format = format
			select {
			case out <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			seq++
			b = &rawBatch{seq: seq, file: fi, data: make([]byte, 0, batchBytes+batchBytes/4)}
			return nil
		}
		for {
			rec, line, rowErr, err := src.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				src.close()
				return fmt.Errorf("read %s line %d: %w", path, line, err)
			}
			if rowErr == nil && len(rec) == 0 {
				continue // blank lines are not rows
			}
			if !detected && rowErr == nil && utf8.Valid(rec) {
				if fs, err := jsonscan.Object(rec, fields[:0]); err == nil {
					format, detected = Detect(fs), true
				} else {
					fields = fs[:0]
				}
			}
			off := len(b.data)
			b.data = append(b.data, rec...)
			b.recs = append(b.recs, recRef{off: off, end: len(b.data), line: line, err: rowErr})
			if len(b.recs) >= batchRecords || len(b.data) >= batchBytes {
				if err := flush(); err != nil {
					src.close()
					return err
				}
			}
			if cfg.onProgress != nil && line%100000 == 0 {
				cfg.onProgress(fi, line)
			}
		}
		if err := src.close(); err != nil {
			return fmt.Errorf("close %s: %w", path, err)
		}
		if len(b.recs) > 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

type worker struct {
	cfg     scanConfig
	scratch Comparison
	h       hasher
	fields  []jsonscan.Field
	dec     decoder
}

func (w *worker) parse(rb *rawBatch) *parsedBatch {
	pb := &parsedBatch{seq: rb.seq, file: rb.file, format: rb.format, rows: make([]parsedRow, len(rb.recs))}
	w.dec.format, w.dec.fields = rb.format, w.cfg.fields
	for i, r := range rb.recs {
		pr := &pb.rows[i]
		pr.line = r.line
		if r.err != nil {
			pr.err = r.err
			continue
		}
		rec := rb.data[r.off:r.end]
		if !utf8.Valid(rec) {
			pr.err = errors.New("invalid UTF-8")
			continue
		}
		fs, err := jsonscan.Object(rec, w.fields[:0])
		w.fields = fs[:0]
		if err != nil {
			pr.err = fmt.Errorf("invalid JSON: %w", err)
			continue
		}
		c := &w.scratch // the audit pass keeps nothing of the comparison
		if w.cfg.keep {
			c = &Comparison{}
		}
		if err := w.dec.decode(fs, c); err != nil {
			pr.err = err
			continue
		}
		w.features(c, pr)
		if w.cfg.keep {
			pr.cmp = c
		}
	}
	return pb
}

// features fingerprints a decoded comparison and derives the per-row
// indicators the statistics use, so that no text outlives the worker.
func (w *worker) features(c *Comparison, pr *parsedRow) {
	h := &w.h
	ann := h.raw(c.Annotator)
	pr.exact = mix(h.raw(c.Prompt), h.raw(c.A), h.raw(c.B), uint64(c.Winner), ann)
	pr.prompt = h.norm(c.Prompt)
	belief := ""
	if mayStateBelief(h.buf) {
		belief = statedBelief(string(h.buf))
	}
	pr.belief = -1
	pr.hA = h.norm(c.A)
	ma := belief != "" && mentions(string(h.buf), belief)
	pr.hB = h.norm(c.B)
	mb := belief != "" && mentions(string(h.buf), belief)
	if belief != "" && ma != mb {
		pr.belief = 0
		if mb {
			pr.belief = 1
		}
	}
	lo, hi := pr.hA, pr.hB
	if lo > hi {
		lo, hi = hi, lo
	}
	pr.item = mix(pr.prompt, lo, hi)
	// The normalized duplicate key is orientation-free: the same pair with
	// the same winner, whichever column each response sat in.
	win := pr.hA
	if c.Winner == WinnerB {
		win = pr.hB
	} else if c.Winner == WinnerTie {
		win = 0
	}
	pr.norm = mix(pr.item, win, ann)
	pr.winner, pr.shown, pr.annotator = c.Winner, c.Shown, c.Annotator
	pr.time, pr.hasTime, pr.clock = c.Time, c.HasTime, c.ClockTime
	pr.longer = longerOf(c.A, c.B)
}
