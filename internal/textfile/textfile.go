// Package textfile reads the text files users hand alignlab (JSONL data,
// JSON configs, plain text) the way other tools do: a UTF-8 byte order
// mark at the very start of a file is skipped (as Python's utf-8-sig
// does; editors on Windows add one), and a line over a reader's limit is
// an error that names the line, not bufio's bare "token too long".
package textfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// BOM is the UTF-8 encoding of U+FEFF, the byte order mark.
const BOM = "\xef\xbb\xbf"

// Trim returns b without a leading byte order mark.
func Trim(b []byte) []byte {
	return bytes.TrimPrefix(b, []byte(BOM))
}

// ReadFile is os.ReadFile with a leading byte order mark removed.
func ReadFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	return Trim(b), err
}

// LineTooLongError is a line longer than a Scanner's limit.
type LineTooLongError struct {
	Line int // 1-based
	Max  int // bytes, line ending not counted
}

// Error reads "line 3: longer than the 16 MiB line limit", so that a
// caller's "path " prefix makes the whole message.
func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line %d: longer than the %s line limit", e.Line, limitSize(e.Max))
}

// limitSize writes a limit in bytes as people set it: "16 MiB", "1 KiB",
// else "1000-byte".
func limitSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d-byte", n)
}

// Scanner reads lines as bufio.Scanner does (line endings "\n" or "\r\n"
// removed), skipping a byte order mark at the start, counting lines, and
// stopping with a *LineTooLongError at the first line over its limit.
type Scanner struct {
	sc    *bufio.Scanner
	limit int
	line  int
	err   error
}

// NewScanner reads r with lines of at most limit bytes.
func NewScanner(r io.Reader, limit int) *Scanner {
	sc := bufio.NewScanner(r)
	// Room for a byte order mark and a "\r\n" ending, which do not count
	// toward the limit (nor does prefs' reader count the ending); the line
	// itself is checked in Scan.
	n := limit + len(BOM) + 2
	sc.Buffer(make([]byte, min(64<<10, n)), n)
	return &Scanner{sc: sc, limit: limit}
}

// Scan advances to the next line; false at the end or on an error (Err).
func (s *Scanner) Scan() bool {
	if s.err != nil {
		return false
	}
	if !s.sc.Scan() {
		if err := s.sc.Err(); errors.Is(err, bufio.ErrTooLong) {
			s.err = &LineTooLongError{Line: s.line + 1, Max: s.limit}
		} else {
			s.err = err
		}
		return false
	}
	s.line++
	if len(s.Bytes()) > s.limit {
		s.err = &LineTooLongError{Line: s.line, Max: s.limit}
		return false
	}
	return true
}

// Bytes is the current line, valid until the next Scan; a byte order mark
// that opened the file is not part of line 1.
func (s *Scanner) Bytes() []byte {
	if s.line == 1 {
		return Trim(s.sc.Bytes())
	}
	return s.sc.Bytes()
}

// Text is Bytes as a string.
func (s *Scanner) Text() string { return string(s.Bytes()) }

// Line is the current line's 1-based number.
func (s *Scanner) Line() int { return s.line }

// Err is the error that stopped Scan: nil at the end of the input, a
// *LineTooLongError, or the reader's error.
func (s *Scanner) Err() error { return s.err }

// FileErr is Err worded for the file it read: "data.jsonl line 7: longer
// than the 16 MiB line limit", or a read error with the line it stopped
// at; nil at the end of the input.
func (s *Scanner) FileErr(name string) error {
	var tl *LineTooLongError
	switch {
	case s.err == nil:
		return nil
	case errors.As(s.err, &tl):
		return fmt.Errorf("%s %w", name, s.err)
	}
	return fmt.Errorf("%s line %d: %w", name, s.line+1, s.err)
}
