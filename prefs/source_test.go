package prefs

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJSONLSourceLineLimit checks the per-line limit at its edge: a line
// of exactly the limit passes whatever its ending (none, "\n" or "\r\n"),
// and one byte more is too long, the last line (no newline) included.
func TestJSONLSourceLineLimit(t *testing.T) {
	const limit = 10
	at, over := strings.Repeat("a", limit), strings.Repeat("b", limit+1)
	for _, tc := range []struct {
		name, text string
		want       []string // "" marks a too-long line
	}{
		{"lf", at + "\n" + over + "\n" + at + "\n", []string{at, "", at}},
		{"crlf", at + "\r\n" + over + "\r\n" + at + "\r\n", []string{at, "", at}},
		{"last line at the limit", over + "\n" + at, []string{"", at}},
		{"last line over the limit", at + "\n" + over, []string{at, ""}},
		// A byte order mark opening the file is dropped and not counted;
		// anywhere else it is data.
		{"byte order mark", "\xef\xbb\xbf" + at + "\r\n" + at + "\n", []string{at, at}},
		{"byte order mark on line 2", at + "\n\xef\xbb\xbf" + at + "\n", []string{at, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "d.jsonl")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := openSource(path, limit)
			if err != nil {
				t.Fatal(err)
			}
			defer src.close()
			var got []string
			for {
				rec, line, rowErr, err := src.next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if line != len(got)+1 {
					t.Errorf("record %d reported as line %d", len(got)+1, line)
				}
				switch {
				case errors.Is(rowErr, ErrLineTooLong):
					got = append(got, "")
				case rowErr != nil:
					t.Fatalf("line %d: %v", line, rowErr)
				default:
					got = append(got, string(rec))
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// A byte order mark before the first row, plain or inside gzip, leaves
// the row readable (it used to be "invalid JSON ... at byte 0").
func TestReadSkipsBOM(t *testing.T) {
	const rows = "\xef\xbb\xbf{\"prompt\":\"q\",\"chosen\":\"a\",\"rejected\":\"b\"}\n{\"prompt\":\"q\",\"chosen\":\"c\",\"rejected\":\"d\"}\n"
	dir := t.TempDir()
	plain := filepath.Join(dir, "bom.jsonl")
	if err := os.WriteFile(plain, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(rows))
	zw.Close()
	zipped := filepath.Join(dir, "bom.jsonl.gz")
	if err := os.WriteFile(zipped, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{plain, zipped} {
		var chosen []string
		err := Read(context.Background(), []string{path}, ReadOptions{}, func(file string, line int, c *Comparison, rowErr error) error {
			if rowErr != nil {
				return fmt.Errorf("%s:%d: %w", file, line, rowErr)
			}
			ch, _ := c.Chosen()
			chosen = append(chosen, ch)
			return nil
		})
		if err != nil || strings.Join(chosen, ",") != "a,c" {
			t.Errorf("%s: chosen %q, %v", path, chosen, err)
		}
	}
}
