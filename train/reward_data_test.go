package train

import (
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

// TestReadPreferencePairs reads each TRL format and checks that every bad
// row is skipped and reported with its line number.
func TestReadPreferencePairs(t *testing.T) {
	tok := tinyTokenizer(t)
	body := strings.Join([]string{
		`{"input_ids_chosen": [1, 2, 3], "input_ids_rejected": [1, 2, 4], "margin": 0.5}`,
		`{"prompt": "the cat", "chosen": " sat", "rejected": " ran"}`,
		`{"chosen": "a dog ran", "rejected": "a cat sat"}`,
		`{"prompt": [{"role": "user", "content": "hello"}], "chosen": [{"role": "assistant", "content": "there"}], "rejected": [{"role": "assistant", "content": "the mat"}]}`,
		``,
		`{"prompt": "x", "chosen": "same", "rejected": "same"}`,
		`{"prompt": "x", "chosen": "", "rejected": "b"}`,
		`not json`,
		`{"input_ids_chosen": [` + strings.Repeat("1, ", 40) + `1], "input_ids_rejected": [1]}`,
		`{"prompt": "x", "chosen": "a", "rejected": [{"role": "assistant", "content": "b"}]}`,
	}, "\n")
	pairs, rep, err := ReadPreferencePairs(writeFile(t, "prefs.jsonl", body), tok, 40)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 4 || rep.Read != 9 || rep.Kept != 4 {
		t.Fatalf("kept %d of %d read (report %+v), want 4 of 9", len(pairs), rep.Read, rep)
	}
	if !reflect.DeepEqual(pairs[0], PreferencePair{Chosen: []int32{1, 2, 3}, Rejected: []int32{1, 2, 4}, Margin: 0.5}) {
		t.Errorf("pretokenized pair = %+v", pairs[0])
	}
	eos, _ := tok.EOS()
	want := append(append(tok.Encode("the cat"), tok.Encode(" sat")...), eos)
	if !reflect.DeepEqual(pairs[1].Chosen, want) {
		t.Errorf("text chosen = %v, want prompt + completion + EOS = %v", pairs[1].Chosen, want)
	}
	chat, _, _ := tok.EncodeChat([]tokenizer.Message{{Role: "user", Content: "hello"}, {Role: "assistant", Content: "there"}}, false)
	if !reflect.DeepEqual(pairs[3].Chosen, chat) {
		t.Errorf("conversational chosen = %v, want the chat template's %v", pairs[3].Chosen, chat)
	}
	for i, prefix := range []string{"line 6: chosen equals rejected", "line 7: empty response", "line 8: not a JSON object", "line 9: 41/1 tokens exceed", "line 10: chosen and rejected must"} {
		if i >= len(rep.Skipped) || !strings.HasPrefix(rep.Skipped[i], prefix) {
			t.Errorf("skipped[%d] = %q, want prefix %q (all: %q)", i, at(rep.Skipped, i), prefix, rep.Skipped)
		}
	}
	if _, _, err := ReadPreferencePairs(writeFile(t, "bad.jsonl", "not json\n"), tok, 0); err == nil {
		t.Error("a file with no usable pair was accepted")
	}
	if _, _, err := ReadPreferencePairs(writeFile(t, "text.jsonl", `{"chosen": "a", "rejected": "b"}`), nil, 0); err == nil {
		t.Error("text rows without a tokenizer were accepted")
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
	ps, rep, err := ReadPrompts(writeFile(t, "prompts.jsonl", body), tok, 40)
	if err != nil {
		t.Fatal(err)
	}
	chat, _, _ := tok.EncodeChat([]tokenizer.Message{{Role: "user", Content: "hello"}}, true)
	want := [][]int32{{5, 6}, tok.Encode("the cat"), chat}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("prompts = %v, want %v", ps, want)
	}
	wantSkip := []string{"line 4: empty prompt", "line 5: 41 tokens exceed the limit of 40", "line 6: needs input_ids or prompt"}
	if !reflect.DeepEqual(rep.Skipped, wantSkip) {
		t.Errorf("skipped = %q, want %q", rep.Skipped, wantSkip)
	}
}
