package train

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/prefs"
	"github.com/alignlab/alignlab/tokenizer"
)

// TRL-format preference rows (standard, conversational, implicit prompt)
// tokenize as TRL's DPOTrainer does, and bad rows (identical responses,
// empty responses, too long, unreadable) are counted, reported by
// file:line and skipped.
func TestReadPrefPairs(t *testing.T) {
	tok := testTokenizer(t)
	long := strings.Repeat("q z w ", 30)
	lines := []string{
		`{"prompt":"q z","chosen":" 1 2","rejected":" 3 4"}`,
		`{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"1"}],"rejected":[{"role":"assistant","content":"2"}]}`,
		`{"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":"1"}],"rejected":[{"role":"user","content":"q"},{"role":"assistant","content":"2"}]}`,
		`{"prompt":"q","chosen":" 1","rejected":" 1"}`,
		`{"prompt":"q","chosen":"","rejected":" 1"}`,
		`{"prompt":"q","chosen":"` + long + `","rejected":" 1"}`,
		`{"prompt": oops`,
	}
	path := writeLines(t, filepath.Join(t.TempDir(), "prefs.jsonl"), lines)
	pairs, rep, err := ReadPrefPairs(context.Background(), []string{path}, tok, 40, prefs.ReadOptions{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 7 || rep.Kept != 3 || len(pairs) != 3 || rep.SkippedTotal() != 4 {
		t.Fatalf("report %+v", rep)
	}
	for _, want := range []string{"prefs.jsonl:4:", "prefs.jsonl:5:", "prefs.jsonl:6: ", "exceed --max-length 40", "prefs.jsonl:7:"} {
		if !strings.Contains(strings.Join(rep.Problems, "\n"), want) {
			t.Errorf("report lacks %q: %v", want, rep.Problems)
		}
	}
	if rep.Skipped["chosen equals rejected"] != 1 || rep.Skipped["empty response"] != 1 || rep.Skipped["over max_length"] != 1 {
		t.Errorf("skip reasons %v", rep.Skipped)
	}
	eos, _ := tok.EOS()
	if p := pairs[0]; !slices.Equal(p.Prompt, tok.Encode("q z")) || !slices.Equal(p.Chosen, append(tok.Encode(" 1 2"), eos)) || p.Source != path+":1" {
		t.Errorf("standard pair %+v", p)
	}
	prompt, _ := tok.ApplyChatTemplate([]tokenizer.Message{{Role: "user", Content: "q"}}, true)
	for _, p := range pairs[1:] {
		if !slices.Equal(p.Prompt, tok.Encode(prompt)) {
			t.Errorf("%s: prompt %q, want the templated prompt %q", p.Source, tok.Decode(p.Prompt), prompt)
		}
		if got := tok.Decode(p.Chosen); got != "1<|im_end|>\n<|endoftext|>" {
			t.Errorf("%s: chosen %q", p.Source, got)
		}
		if !p.Text.Conversational() {
			t.Errorf("%s: not kept as conversational", p.Source)
		}
	}
}

func TestSplitEval(t *testing.T) {
	items := make([]int, 50)
	for i := range items {
		items[i] = i
	}
	tr, ev := SplitEval(items, 0.1, 3)
	tr2, ev2 := SplitEval(items, 0.1, 3)
	if len(ev) != 5 || len(tr) != 45 || !slices.Equal(ev, ev2) || !slices.Equal(tr, tr2) {
		t.Fatalf("split %d/%d, deterministic %v", len(tr), len(ev), slices.Equal(ev, ev2))
	}
	if _, ev3 := SplitEval(items, 0.1, 4); slices.Equal(ev, ev3) {
		t.Fatal("the seed does not change the split")
	}
	if tr, ev := SplitEval(items, 0, 1); len(ev) != 0 || len(tr) != 50 {
		t.Fatal("fraction 0 held out items")
	}
}
