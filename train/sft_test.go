package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

var (
	chatTokOnce sync.Once
	chatTok     *tokenizer.Tokenizer
	chatTokErr  error
)

// testTokenizer is a small byte-level BPE with ChatML, trained once.
func testTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	chatTokOnce.Do(func() {
		corpus := []string{"the answer is 1 2 3 4", "q z w q z w", "hello there, how are you?", "chosen rejected prompt"}
		chatTok, chatTokErr = tokenizer.Train(corpus, tokenizer.TrainConfig{
			VocabSize: 300, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
		})
		if chatTokErr == nil {
			chatTokErr = chatTok.SetChatTemplate("chatml")
		}
	})
	if chatTokErr != nil {
		t.Fatal(chatTokErr)
	}
	return chatTok
}

// chatRows are conversations whose user turns are random letters (q, z,
// w) and whose assistant turns are always "1 2 3 4".
func chatRows(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 3))
	rows := make([]string, n)
	for i := range rows {
		var b strings.Builder
		for k := range 4 + rng.IntN(4) {
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteByte("qzw"[rng.IntN(3)])
		}
		rows[i] = fmt.Sprintf(`{"messages":[{"role":"user","content":%q},{"role":"assistant","content":"1 2 3 4"}]}`, b.String())
	}
	return rows
}

func writeLines(t testing.TB, path string, lines []string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sftModel(t testing.TB, vocab int, seed int64) *model.Model {
	t.Helper()
	m, err := model.New(model.GPT2Config(vocab, 64, 1, 2, 32), seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// complement marks the tokens an example's loss does not cover (user
// turns and template), to measure what training did to them.
func complement(exs []SFTExample) []SFTExample {
	out := make([]SFTExample, len(exs))
	for i, e := range exs {
		out[i] = e
		out[i].Loss = make([]bool, len(e.Loss))
		for k := 1; k < len(e.Loss); k++ {
			out[i].Loss[k] = !e.Loss[k]
		}
	}
	return out
}

// SFT on assistant tokens lowers their loss and leaves the user tokens
// untrained; the same run with the mask off learns the user tokens too,
// which is what the first half would show if the mask were ignored.
func TestSFTTrainsOnlyAssistantTokens(t *testing.T) {
	tok := testTokenizer(t)
	path := writeLines(t, filepath.Join(t.TempDir(), "chat.jsonl"), chatRows(96, 1))
	for _, assistantOnly := range []bool{true, false} {
		if raceEnabled && !assistantOnly {
			continue // the contrast run adds no code to check for races
		}
		exs, rep, err := ReadSFTExamples([]string{path}, tok, 64, true)
		if err != nil || rep.SkippedTotal() > 0 {
			t.Fatalf("read: %v %+v", err, rep)
		}
		if !assistantOnly {
			for i := range exs {
				exs[i].Loss = allTrue(len(exs[i].Tokens))
			}
		}
		train, eval := SplitEval(exs, 0.2, 1)
		m := sftModel(t, tok.VocabSize(), 3)
		cfg := DefaultSFTConfig()
		cfg.LearningRate, cfg.NumTrainEpochs, cfg.PerDeviceTrainBatchSize, cfg.GradientAccumulationSteps = 3e-3, 4, 4, 2
		tr, err := NewSFTTrainer(m, train, eval, cfg, SFTOptions{})
		if err != nil {
			t.Fatal(err)
		}
		assist := func() float64 {
			l, err := SFTLoss(m, eval, 8)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		user := func() float64 {
			base, _, _ := ReadSFTExamples([]string{path}, tok, 64, true)
			_, ev := SplitEval(base, 0.2, 1)
			l, err := SFTLoss(m, complement(ev), 8)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		a0, u0 := assist(), user()
		var last Metrics
		for tr.Step() < tr.NumSteps() {
			if last, err = tr.TrainStep(); err != nil {
				t.Fatal(err)
			}
		}
		ev, err := tr.Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		a1, u1 := assist(), user()
		t.Logf("assistant_only_loss=%v: %d steps; loss-token eval loss %.3f -> %.3f (eval_loss %.3f), other tokens %.3f -> %.3f; last %v",
			assistantOnly, tr.NumSteps(), a0, a1, ev["loss"], u0, u1, last)
		if a1 > 0.5*a0 {
			t.Errorf("assistant_only_loss=%v: trained-token loss %.3f -> %.3f, want at least halved", assistantOnly, a0, a1)
		}
		if assistantOnly && u1 < 0.9*u0 {
			t.Errorf("user and template tokens were learned (loss %.3f -> %.3f) although the mask excludes them", u0, u1)
		}
		if !assistantOnly && u1 > 0.6*u0 {
			t.Errorf("with every token in the loss, user-token loss %.3f -> %.3f should fall", u0, u1)
		}
		for _, k := range []string{"loss", "grad_norm", "learning_rate", "epoch", "num_tokens", "tokens_per_second"} {
			if _, ok := last[k]; !ok {
				t.Errorf("metrics lack %q", k)
			}
		}
	}
}

// The loss mask is EncodeChat's assistant mask, shifted onto targets.
func TestSFTMaskFollowsTemplate(t *testing.T) {
	tok := testTokenizer(t)
	row := `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"q z"},{"role":"assistant","content":"1 2"},{"role":"user","content":"w"},{"role":"assistant","content":"3 4"}]}`
	ex, err := TokenizeSFT(tok, []byte(row), true)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for i, id := range ex.Tokens {
		if ex.Loss[i] {
			got.WriteString(tok.Decode([]int32{id}))
		}
	}
	if want := "1 2<|im_end|>3 4<|im_end|>"; got.String() != want {
		t.Fatalf("loss covers %q, want %q", got.String(), want)
	}
	_, targets, weights, T := sftBatch([]SFTExample{ex}, 1)
	for i := 0; i+1 < T; i++ {
		if (weights[i] != 0) != ex.Loss[i+1] || targets[i] != ex.Tokens[i+1] {
			t.Fatalf("position %d: weight %g target %d, token %d loss %v", i, weights[i], targets[i], ex.Tokens[i+1], ex.Loss[i+1])
		}
	}
	// Prompt/completion: the completion and EOS only.
	pc, err := TokenizeSFT(tok, []byte(`{"prompt":"hello","completion":" there"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	eos, _ := tok.EOS()
	if n := pc.LossTokens(); n != len(tok.Encode(" there"))+1 || pc.Tokens[len(pc.Tokens)-1] != eos {
		t.Fatalf("prompt/completion loss tokens %d, tokens %v", n, pc.Tokens)
	}
	// A conversational prompt's own assistant turns are context: only the
	// completion is trained on (its assistant tokens, or all it adds to
	// the prompt when assistantOnly is false).
	conv := `{"prompt":[{"role":"user","content":"q"},{"role":"assistant","content":"1 2"},{"role":"user","content":"w"}],"completion":[{"role":"assistant","content":"3 4"}]}`
	for _, tc := range []struct {
		assistantOnly bool
		want          string
	}{{true, "3 4<|im_end|>"}, {false, "3 4<|im_end|>\n"}} {
		ex, err := TokenizeSFT(tok, []byte(conv), tc.assistantOnly)
		if err != nil {
			t.Fatal(err)
		}
		got.Reset()
		for i, id := range ex.Tokens {
			if ex.Loss[i] {
				got.WriteString(tok.Decode([]int32{id}))
			}
		}
		if got.String() != tc.want {
			t.Errorf("assistantOnly %v: conversational completion loss covers %q, want %q", tc.assistantOnly, got.String(), tc.want)
		}
	}
	if _, err := TokenizeSFT(tok, []byte(`{"prompt":[{"role":"user","content":"q"},{"role":"assistant","content":"1"}],"completion":[{"role":"assistant","content":" "}]}`), true); err == nil {
		t.Error("an empty completion after a prompt with an assistant turn was accepted")
	}
}

// Unusable rows are counted and reported by file:line; long rows are
// truncated and counted.
func TestSFTBadRowsReported(t *testing.T) {
	tok := testTokenizer(t)
	long := strings.Repeat("q z w ", 40)
	lines := []string{
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"1 2"}]}`,
		`{"messages":[{"role":"user","content":"q"}]}`,
		`not json`,
		`{"text":"   "}`,
		`{"text":"hello there"}`,
		``,
		`{"prompt":"q","completion":"` + long + `"}`,
		`{"foo":1}`,
		`{"prompt":"` + long + `","completion":"1"}`,
	}
	path := writeLines(t, filepath.Join(t.TempDir(), "sft.jsonl"), lines)
	exs, rep, err := ReadSFTExamples([]string{path}, tok, 32, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 8 || rep.Kept != 3 || len(exs) != 3 || rep.Truncated != 2 || rep.SkippedTotal() != 5 {
		t.Fatalf("report %+v", rep)
	}
	text := strings.Join(rep.Problems, "\n")
	for _, want := range []string{"sft.jsonl:2: empty response", "sft.jsonl:3: not a JSON object", "sft.jsonl:4: empty text", "sft.jsonl:7:", "truncated to --max-length 32", "sft.jsonl:8:", "sft.jsonl:9: empty response: no token left"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	for _, e := range exs {
		if len(e.Tokens) > 32 {
			t.Errorf("%s kept %d tokens", e.Source, len(e.Tokens))
		}
	}
}

// sftRun trains SFT inside a run directory.
func sftRun(t *testing.T, dir string, exs []SFTExample, vocab, stopAfter int, resume bool) (*SFTTrainer, error) {
	t.Helper()
	cfg := DefaultSFTConfig()
	cfg.LearningRate, cfg.NumTrainEpochs, cfg.PerDeviceTrainBatchSize, cfg.GradientAccumulationSteps = 3e-3, 2, 3, 2
	cfg.LRSchedulerType = "cosine"
	train, eval := SplitEval(exs, 0.25, 2)
	tr, err := NewSFTTrainer(sftModel(t, vocab, 4), train, eval, cfg, SFTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var r *Run
	if resume {
		if r, err = OpenRun(dir); err == nil {
			_, err = r.Resume(tr)
		}
	} else {
		r, err = CreateRun(dir, cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return tr, r.Train(context.Background(), tr, LoopConfig{LoggingSteps: 2, EvalSteps: 3, SaveSteps: 5, StopAfter: stopAfter})
}

// Resuming SFT after an interruption reproduces the uninterrupted run's
// weights and metrics (all but the wall-clock tokens_per_second).
func TestSFTResumeIsExact(t *testing.T) {
	tok := testTokenizer(t)
	root := t.TempDir()
	path := writeLines(t, filepath.Join(root, "chat.jsonl"), chatRows(40, 5))
	exs, _, err := ReadSFTExamples([]string{path}, tok, 64, true)
	if err != nil {
		t.Fatal(err)
	}
	full, err := sftRun(t, filepath.Join(root, "full"), exs, tok.VocabSize(), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sftRun(t, filepath.Join(root, "cut"), exs, tok.VocabSize(), 7, false); !errors.Is(err, ErrStopped) {
		t.Fatalf("got %v, want a stop", err)
	}
	res, err := sftRun(t, filepath.Join(root, "cut"), exs, tok.VocabSize(), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(full.Model.Params.Data, res.Model.Params.Data) {
		t.Fatal("weights differ")
	}
	a, _ := ReadMetrics(filepath.Join(root, "full"))
	b, _ := ReadMetrics(filepath.Join(root, "cut"))
	for _, ms := range [][]map[string]float64{a, b} {
		for _, m := range ms {
			delete(m, "tokens_per_second")
		}
	}
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("metrics differ:\n%v\n%v", a, b)
	}
}
