package train

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/prefs"
)

const bom = "\xef\xbb\xbf"

// Every training data reader takes files as editors write them: a byte
// order mark before row 1 is skipped, not row 1 dropped.
func TestDataReadersSkipBOM(t *testing.T) {
	tok := testTokenizer(t)
	dir := t.TempDir()
	write := func(name string, lines ...string) string {
		return writeLines(t, filepath.Join(dir, name), append([]string{bom + lines[0]}, lines[1:]...))
	}
	sft := write("sft.jsonl", `{"text":"hello there"}`, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"1 2"}]}`)
	if _, rep, err := ReadSFTExamples([]string{sft}, tok, 0, true); err != nil || rep.Rows != 2 || rep.Kept != 2 {
		t.Errorf("sft: %v, report %+v", err, rep)
	}
	prompts := write("prompts.jsonl", `{"prompt":"q z"}`, `{"input_ids":[5,6]}`)
	if _, rep, err := ReadPrompts(prompts, tok, 0); err != nil || rep.Rows != 2 || rep.Kept != 2 {
		t.Errorf("prompts: %v, report %+v", err, rep)
	}
	pre := write("pre.jsonl", `{"input_ids_chosen":[1,2,3],"input_ids_rejected":[1,2,4]}`, `{"input_ids_chosen":[1,2],"input_ids_rejected":[1,3]}`)
	if pairs, rep, err := ReadRewardPairs(context.Background(), []string{pre}, tok, 0); err != nil || rep.Rows != 2 || len(pairs) != 2 {
		t.Errorf("pretokenized (detected through the mark): %v, report %+v", err, rep)
	}
	dpo := write("dpo.jsonl", `{"prompt":"q","chosen":" 1","rejected":" 2"}`, `{"prompt":"z","chosen":" 3","rejected":" 4"}`)
	if _, rep, err := ReadPrefPairs(context.Background(), []string{dpo}, tok, 0, prefs.ReadOptions{}); err != nil || rep.Rows != 2 || rep.Kept != 2 {
		t.Errorf("dpo: %v, report %+v", err, rep)
	}
}

// A line over the limit stops the read with an error that names the file
// and the line.
func TestDataReadersLineTooLong(t *testing.T) {
	tok := testTokenizer(t)
	defer func(n int) { maxDataLine = n }(maxDataLine)
	maxDataLine = 1 << 10
	long := `{"text":"` + strings.Repeat("q", 1<<10) + `"}`
	for name, read := range map[string]func(string) error{
		"sft.jsonl": func(p string) error { _, _, err := ReadSFTExamples([]string{p}, tok, 0, false); return err },
		"prompts.jsonl": func(p string) error {
			_, _, err := ReadPrompts(p, tok, 0)
			return err
		},
		"pre.jsonl": func(p string) error {
			_, _, err := ReadRewardPairs(context.Background(), []string{p}, tok, 0)
			return err
		},
	} {
		first := `{"text":"q z"}`
		if name != "sft.jsonl" {
			first = `{"input_ids_chosen":[1,2,3],"input_ids_rejected":[1,2,4],"input_ids":[5]}`
		}
		path := writeLines(t, filepath.Join(t.TempDir(), name), []string{first, "", long})
		err := read(path)
		if want := path + " line 3: longer than the 1 KiB line limit"; err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", name, err, want)
		}
	}
}

// Bytes that are not UTF-8 are a bad row, reported as file:line and
// skipped, in every reader (as the DPO family's prefs readers do), not
// trained on as U+FFFD.
func TestDataReadersInvalidUTF8(t *testing.T) {
	tok := testTokenizer(t)
	dir := t.TempDir()
	sft := writeLines(t, filepath.Join(dir, "sft.jsonl"), []string{`{"text":"hello there"}`, `{"text":"q` + "\xff" + `"}`})
	_, rep, err := ReadSFTExamples([]string{sft}, tok, 0, false)
	if err != nil || rep.Kept != 1 || rep.Skipped["unreadable row"] != 1 || !slices.Contains(rep.Problems, sft+":2: invalid UTF-8") {
		t.Errorf("sft: %v, report %+v", err, rep)
	}
	prompts := writeLines(t, filepath.Join(dir, "prompts.jsonl"), []string{`{"prompt":"q` + "\xc3" + `"}`, `{"prompt":"q z"}`})
	_, rep, err = ReadPrompts(prompts, tok, 0)
	if err != nil || rep.Kept != 1 || rep.Skipped["unreadable row"] != 1 || !slices.Contains(rep.Problems, prompts+":1: invalid UTF-8") {
		t.Errorf("prompts: %v, report %+v", err, rep)
	}
	pre := writeLines(t, filepath.Join(dir, "pre.jsonl"), []string{`{"input_ids_chosen":[1,2,3],"input_ids_rejected":[1,2,4]}`, `{"input_ids_chosen":[1,2],"input_ids_rejected":[1,3],"note":"` + "\xff" + `"}`})
	_, rep, err = ReadRewardPairs(context.Background(), []string{pre}, tok, 0)
	if err != nil || rep.Kept != 1 || !slices.Contains(rep.Problems, pre+":2: invalid UTF-8") {
		t.Errorf("pretokenized: %v, report %+v", err, rep)
	}
	dpo := writeLines(t, filepath.Join(dir, "dpo.jsonl"), []string{`{"prompt":"q","chosen":" 1","rejected":" 2` + "\xff" + `"}`, `{"prompt":"z","chosen":" 3","rejected":" 4"}`})
	_, rep, err = ReadPrefPairs(context.Background(), []string{dpo}, tok, 0, prefs.ReadOptions{})
	if err != nil || rep.Kept != 1 || !slices.Contains(rep.Problems, dpo+":1: invalid UTF-8") {
		t.Errorf("dpo: %v, report %+v", err, rep)
	}
}

// RL prompts, like SFT rows, may come gzipped (".gz").
func TestPromptsGzip(t *testing.T) {
	tok := testTokenizer(t)
	path := filepath.Join(t.TempDir(), "prompts.jsonl.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(`{"prompt":"q z"}` + "\n" + `{"input_ids":[5,6]}` + "\n"))
	zw.Close()
	f.Close()
	if ps, rep, err := ReadPrompts(path, tok, 0); err != nil || len(ps) != 2 {
		t.Errorf("gzipped prompts: %v, report %+v", err, rep)
	}
}
