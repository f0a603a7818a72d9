package train

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/tokenizer"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func tinyTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Train([]string{"the cat sat on the mat", "a dog ran", "hello there"},
		tokenizer.TrainConfig{VocabSize: 300, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.SetChatTemplate("chatml"); err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestReadRewardPairs reads a pretokenized file (margins kept, bad rows
// reported by file:line) and a text file through the DPO loader, whose
// prompt and completions it joins into whole sequences.
func TestReadRewardPairs(t *testing.T) {
	tok := tinyTokenizer(t)
	pre := writeFile(t, "pre.jsonl", strings.Join([]string{
		`{"input_ids_chosen": [1, 2, 3], "input_ids_rejected": [1, 2, 4], "margin": 0.5}`,
		``,
		`{"input_ids_chosen": [1, 2], "input_ids_rejected": [1, 2]}`,
		`{"input_ids_chosen": [], "input_ids_rejected": [1]}`,
		`not json`,
		`{"input_ids_chosen": [` + strings.Repeat("1, ", 40) + `1], "input_ids_rejected": [1]}`,
	}, "\n"))
	text := writeFile(t, "text.jsonl", `{"prompt": "the cat", "chosen": " sat", "rejected": " ran"}`+"\n")
	pairs, rep, err := ReadRewardPairs(context.Background(), []string{pre, text}, tok, 40)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2 || rep.Rows != 6 || rep.Kept != 2 || rep.SkippedTotal() != 4 {
		t.Fatalf("kept %d pairs; report %+v", len(pairs), rep)
	}
	if !reflect.DeepEqual(pairs[0], PreferencePair{Chosen: []int32{1, 2, 3}, Rejected: []int32{1, 2, 4}, Margin: 0.5}) {
		t.Errorf("pretokenized pair = %+v", pairs[0])
	}
	eos, _ := tok.EOS()
	want := append(append(tok.Encode("the cat"), tok.Encode(" sat")...), eos)
	if !reflect.DeepEqual(pairs[1].Chosen, want) {
		t.Errorf("text chosen = %v, want prompt + completion + EOS = %v", pairs[1].Chosen, want)
	}
	wantProblems := []string{
		pre + ":3: chosen equals rejected", pre + ":4: empty sequence", pre + ":5: unreadable row",
		pre + ":6: 41/1 tokens exceed --max-length 40",
	}
	for i, w := range wantProblems {
		if i >= len(rep.Problems) || !strings.HasPrefix(rep.Problems[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, at(rep.Problems, i), w)
		}
	}
	if rep.Skipped["chosen equals rejected"] != 1 || rep.Skipped["over max_length"] != 1 || rep.Skipped["empty response"] != 1 {
		t.Errorf("skipped by reason = %v", rep.Skipped)
	}
	if _, _, err := ReadRewardPairs(context.Background(), []string{text}, nil, 0); err == nil {
		t.Error("a text file without a tokenizer was accepted")
	}
	// Ids outside the vocabulary are reported where they are read.
	V := tok.VocabSize()
	bad := writeFile(t, "bad.jsonl", strings.Join([]string{
		`{"input_ids_chosen": [1, -5, 3], "input_ids_rejected": [1, 2]}`,
		fmt.Sprintf(`{"input_ids_chosen": [1, 2], "input_ids_rejected": [1, %d]}`, V),
		`{"input_ids_chosen": [1, 2], "input_ids_rejected": [1, 3]}`,
	}, "\n"))
	pairs, rep, err = ReadRewardPairs(context.Background(), []string{bad}, tok, 0)
	if err != nil || len(pairs) != 1 || len(rep.Problems) != 2 ||
		!strings.HasPrefix(rep.Problems[0], bad+":1: token id -5 at index 1") || !strings.HasPrefix(rep.Problems[1], bad+":2: token id "+fmt.Sprint(V)) {
		t.Errorf("out-of-vocabulary ids: %v, %d pairs, problems %q", err, len(pairs), rep.Problems)
	}
	ps, rep, err := ReadPrompts(writeFile(t, "badp.jsonl", fmt.Sprintf("{\"input_ids\": [%d]}\n{\"input_ids\": [2]}\n", V)), tok, 0)
	if err != nil || len(ps) != 1 || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], ":1: token id") {
		t.Errorf("out-of-vocabulary prompt ids: %v, %d prompts, problems %q", err, len(ps), rep.Problems)
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

func TestReadPrompts(t *testing.T) {
	tok := tinyTokenizer(t)
	body := `{"input_ids": [5, 6]}
{"prompt": "the cat"}
{"prompt": [{"role": "user", "content": "hello"}]}
{"prompt": ""}
{"input_ids": [` + strings.Repeat("1, ", 40) + `1]}
{"other": 1}
`
	path := writeFile(t, "prompts.jsonl", body)
	ps, rep, err := ReadPrompts(path, tok, 40)
	if err != nil {
		t.Fatal(err)
	}
	chat, _, _ := tok.EncodeChat([]tokenizer.Message{{Role: "user", Content: "hello"}}, true)
	want := [][]int32{{5, 6}, tok.Encode("the cat"), chat}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("prompts = %v, want %v", ps, want)
	}
	wantSkip := []string{path + ":4: empty prompt", path + ":5: 41 tokens exceed --max-length 40", path + ":6: unreadable row: needs input_ids or prompt"}
	if !reflect.DeepEqual(rep.Problems, wantSkip) || rep.Rows != 6 || rep.Kept != 3 {
		t.Errorf("report %+v, want problems %q", rep, wantSkip)
	}
}
