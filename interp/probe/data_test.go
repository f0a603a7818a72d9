package probe

import (
	"strings"
	"testing"
)

func TestParseExamples(t *testing.T) {
	good := "{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"b\", \"label\": 0}\n{\"text\": \"c\", \"label\": true}\n"
	ex, err := ParseExamples(strings.NewReader(good), "x.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 3 || ex[0] != (Example{"a", 1, 1}) || ex[1] != (Example{"b", 0, 3}) || ex[2].Label != 1 {
		t.Fatalf("parsed %+v", ex)
	}
	for name, c := range map[string]struct{ in, want string }{
		"bad json":   {"{\"text\": \"a\", \"label\": 1}\n{oops\n", "x.jsonl:2: not a JSON object"},
		"no label":   {"{\"text\": \"a\"}\n", "x.jsonl:1: no \"label\""},
		"label 2":    {"\n\n{\"text\": \"a\", \"label\": 2}\n", "x.jsonl:3: \"label\" is 2"},
		"no text":    {"{\"label\": 1}\n", "x.jsonl:1: no \"text\""},
		"string lbl": {"{\"text\": \"a\", \"label\": \"yes\"}\n", "x.jsonl:1: \"label\" is \"yes\""},
		"empty text": {"{\"text\": \"\", \"label\": 1}\n", "x.jsonl:1: empty \"text\""},
		"json array": {"[1, 2]\n", "x.jsonl:1: not a JSON object"},
	} {
		_, err := ParseExamples(strings.NewReader(c.in), "x.jsonl")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v; want it to contain %q", name, err, c.want)
		}
	}
}

func FuzzParseExamples(f *testing.F) {
	f.Add("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 0}\n")
	f.Add("{oops\n")
	f.Add("{\"text\": \"a\", \"label\": false}")
	f.Fuzz(func(t *testing.T, in string) {
		ex, err := ParseExamples(strings.NewReader(in), "f")
		if err != nil {
			return
		}
		for _, e := range ex {
			if e.Text == "" || (e.Label != 0 && e.Label != 1) {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}

// Files as editors and other tools write them: a byte order mark first,
// a line too long to read, bytes that are not UTF-8.
func TestParseExamplesFileEdges(t *testing.T) {
	ex, err := ParseExamples(strings.NewReader("\xef\xbb\xbf{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 0}\n"), "bom.jsonl")
	if err != nil || len(ex) != 2 || ex[0].Text != "a" || ex[0].Line != 1 {
		t.Errorf("a byte order mark must be skipped: %+v, %v", ex, err)
	}
	long := "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"" + strings.Repeat("x", maxLineBytes) + "\", \"label\": 0}\n"
	_, err = ParseExamples(strings.NewReader(long), "long.jsonl")
	if err == nil || err.Error() != "long.jsonl line 2: longer than the 16 MiB line limit" {
		t.Errorf("over-long line: %v", err)
	}
	_, err = ParseExamples(strings.NewReader("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\xff\", \"label\": 0}\n"), "x.jsonl")
	if err == nil || !strings.Contains(err.Error(), "x.jsonl:2: invalid UTF-8") {
		t.Errorf("invalid UTF-8: %v", err)
	}
}
