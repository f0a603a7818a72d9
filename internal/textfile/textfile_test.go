package textfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTrim(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{BOM + `{"a":1}`, `{"a":1}`},
		{`{"a":1}`, `{"a":1}`},
		{BOM, ""},
		{BOM + BOM + "x", BOM + "x"}, // only the file's first mark is one
		{"\xef\xbb", "\xef\xbb"},
		{"x" + BOM, "x" + BOM},
	} {
		if got := string(Trim([]byte(tc.in))); got != tc.want {
			t.Errorf("Trim(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(path, []byte(BOM+"{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(path); err != nil || string(b) != "{}" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
}

func scanAll(in string, max int) ([]string, error) {
	s := NewScanner(strings.NewReader(in), max)
	var out []string
	for s.Scan() {
		if len(out)+1 != s.Line() {
			return out, errors.New("line numbers out of step")
		}
		out = append(out, s.Text())
	}
	return out, s.Err()
}

func TestScanner(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		max      int
		want     []string
		tooLong  int // the line reported too long; 0: none
	}{
		{"plain", "a\nbb\n\nc", 10, []string{"a", "bb", "", "c"}, 0},
		{"bom skipped", BOM + "a\r\nb\r\n", 10, []string{"a", "b"}, 0},
		{"bom only at the start", "a\n" + BOM + "b\n", 10, []string{"a", BOM + "b"}, 0},
		{"bom not counted", BOM + "abcd\r\n", 4, []string{"abcd"}, 0},
		{"at the limit", "abcd\nabcd", 4, []string{"abcd", "abcd"}, 0},
		{"one byte over", "abcd\nabcde\nx\n", 4, []string{"abcd"}, 2},
		{"one byte over with CRLF", "abcde\r\n", 4, nil, 1},
		{"far over", "ab\n" + strings.Repeat("x", 100) + "\n", 4, []string{"ab"}, 2},
		{"last line over, no newline", "ab\nabcde", 4, []string{"ab"}, 2},
	} {
		got, err := scanAll(tc.in, tc.max)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: lines %q, want %q", tc.name, got, tc.want)
		}
		var tl *LineTooLongError
		switch {
		case tc.tooLong == 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.tooLong != 0 && (!errors.As(err, &tl) || tl.Line != tc.tooLong):
			t.Errorf("%s: error %v, want line %d too long", tc.name, err, tc.tooLong)
		}
	}
}

func TestLineTooLongMessage(t *testing.T) {
	_, err := scanAll("{}\n"+strings.Repeat("x", 2<<10+1), 2<<10)
	if err == nil || err.Error() != "line 2: longer than the 2 KiB line limit" {
		t.Errorf("got %v", err)
	}
	e := &LineTooLongError{Line: 7, Max: 16 << 20}
	if e.Error() != "line 7: longer than the 16 MiB line limit" {
		t.Errorf("got %q", e.Error())
	}
}

type failReader struct{ n int }

func (r *failReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("disk on fire")
	}
	r.n = 0
	return copy(p, "a\nb\n"), nil
}

func TestFileErr(t *testing.T) {
	s := NewScanner(strings.NewReader("ok\n"+strings.Repeat("x", 11)), 10)
	for s.Scan() {
	}
	if err := s.FileErr("d.jsonl"); err == nil || err.Error() != "d.jsonl line 2: longer than the 10-byte line limit" {
		t.Errorf("too long: %v", err)
	}
	s = NewScanner(&failReader{n: 1}, 10)
	for s.Scan() {
	}
	if err := s.FileErr("d.jsonl"); err == nil || err.Error() != "d.jsonl line 3: disk on fire" {
		t.Errorf("read error: %v", err)
	}
	s = NewScanner(strings.NewReader("a"), 10)
	for s.Scan() {
	}
	if err := s.FileErr("d.jsonl"); err != nil {
		t.Errorf("end of input: %v", err)
	}
}
