package serve

import (
	"math"
	"testing"
	"unicode/utf8"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tensor"
	"github.com/alignlab/alignlab/tokenizer"
)

// forwardLogprobs scores every token of ids after the ones before it with
// one full forward pass (no KV cache): logprob[0] is undefined.
func forwardLogprobs(t *testing.T, m *model.Model, ids []int32) []float64 {
	t.Helper()
	logits, err := m.Forward(ids, 1, len(ids), nil)
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.VocabSize
	out := make([]float64, len(ids))
	for i := 1; i < len(ids); i++ {
		row := logits[(i-1)*V : i*V]
		out[i] = float64(row[ids[i]] - tensor.LogSumExp(row))
	}
	return out
}

// TestCompletionEchoLogprobs is log-likelihood scoring as
// lm-evaluation-harness does it: echo + logprobs + max_tokens 0 returns
// the prompt with each token's log-prob (null for the first) equal to a
// direct forward pass, summing to model.SequenceLogProbs.
func TestCompletionEchoLogprobs(t *testing.T) {
	f := newFixture(t, Config{})
	// Long enough to cross the engine's echo chunks, with multi-byte text.
	prompt := "naïve café: the quick brown fox jumps over the lazy dog, and what is two plus two? "
	for len(f.tok.Encode(prompt)) < echoChunk+10 {
		prompt += "hello there 🙂 "
	}
	ids := f.tok.Encode(prompt)
	want := forwardLogprobs(t, f.m, ids)
	mask := make([]float32, len(ids))
	for i := 1; i < len(mask); i++ {
		mask[i] = 1
	}
	seq, err := f.m.SequenceLogProbs(ids, mask, 1, len(ids))
	if err != nil {
		t.Fatal(err)
	}
	var r complReply
	f.postOK(t, "/v1/completions", map[string]any{"prompt": prompt, "echo": true, "logprobs": 3, "max_tokens": 0}, &r)
	if r.Object != "text_completion" || len(r.Choices) != 1 {
		t.Fatalf("reply %+v", r)
	}
	c := r.Choices[0]
	if c.Text != prompt || *c.FinishReason != "length" || c.Logprobs == nil {
		t.Fatalf("text %q finish %v logprobs %v", c.Text, c.FinishReason, c.Logprobs != nil)
	}
	lp := c.Logprobs
	if len(lp.Tokens) != len(ids) || len(lp.TokenLogprobs) != len(ids) || len(lp.TopLogprobs) != len(ids) || len(lp.TextOffset) != len(ids) {
		t.Fatalf("%d tokens, %d logprobs, %d tops, %d offsets; want %d each", len(lp.Tokens), len(lp.TokenLogprobs), len(lp.TopLogprobs), len(lp.TextOffset), len(ids))
	}
	if lp.TokenLogprobs[0] != nil || lp.TopLogprobs[0] != nil {
		t.Errorf("first token has logprob %v, top %v; want null", lp.TokenLogprobs[0], lp.TopLogprobs[0])
	}
	var sum float64
	for i := 1; i < len(ids); i++ {
		got := *lp.TokenLogprobs[i]
		if math.Abs(got-want[i]) > 1e-4 {
			t.Errorf("token %d: logprob %g, forward %g", i, got, want[i])
		}
		sum += got
		if len(lp.TopLogprobs[i]) != 3 {
			t.Errorf("token %d: %d alternatives, want 3", i, len(lp.TopLogprobs[i]))
		}
		// The alternatives are the most likely tokens: the actual token is
		// among them whenever it beats the least of them.
		minAlt := math.Inf(1)
		for _, v := range lp.TopLogprobs[i] {
			minAlt = min(minAlt, v)
		}
		if got > minAlt+1e-5 && !containsValue(lp.TopLogprobs[i], got) {
			t.Errorf("token %d: logprob %g beats the alternatives %v but is not among them", i, got, lp.TopLogprobs[i])
		}
	}
	if math.Abs(sum-float64(seq[0])) > 1e-3 {
		t.Errorf("summed echo logprobs %g, SequenceLogProbs %g", sum, seq[0])
	}
	// Offsets count characters into the echoed text.
	for i := range ids {
		if want := utf8.RuneCountInString(f.tok.Decode(ids[:i])); lp.TextOffset[i] != want {
			t.Fatalf("token %d: text offset %d, want %d", i, lp.TextOffset[i], want)
		}
	}
	if r.Usage.PromptTokens != len(ids) || r.Usage.CompletionTokens != 0 {
		t.Errorf("usage %+v", r.Usage)
	}
}

func containsValue(m map[string]float64, v float64) bool {
	for _, x := range m {
		if math.Abs(x-v) < 1e-5 {
			return true
		}
	}
	return false
}

// TestCompletionEchoThenGenerate: echo with max_tokens > 0 returns the
// prompt followed by what Generate produces, with log-probs for both.
func TestCompletionEchoThenGenerate(t *testing.T) {
	f := newFixture(t, Config{})
	prompt := "what is two plus two?"
	ids := f.tok.Encode(prompt)
	wantText, g, finish := f.referenceCompletion(t, ids, model.GenerateConfig{MaxNewTokens: 6, Temperature: 0.7, Seed: 99})
	var r complReply
	f.postOK(t, "/v1/completions", map[string]any{"prompt": prompt, "echo": true, "logprobs": 0, "max_tokens": 6, "temperature": 0.7, "seed": 99}, &r)
	c := r.Choices[0]
	if c.Text != prompt+jsonText(wantText) || *c.FinishReason != finish {
		t.Fatalf("got %q (%s), want %q (%s)", c.Text, *c.FinishReason, prompt+wantText, finish)
	}
	n := len(g.Tokens)
	if finish == "stop" {
		n--
	}
	lp := c.Logprobs
	if len(lp.TokenLogprobs) != len(ids)+n {
		t.Fatalf("%d logprobs, want %d prompt + %d generated", len(lp.TokenLogprobs), len(ids), n)
	}
	for k := range n {
		if got := *lp.TokenLogprobs[len(ids)+k]; math.Abs(got-float64(g.LogProbs[k])) > 1e-4 {
			t.Errorf("generated token %d: logprob %g, Generate %g", k, got, g.LogProbs[k])
		}
	}
	// Token-id prompts (as lm-evaluation-harness sends them) score alike.
	var byIDs complReply
	f.postOK(t, "/v1/completions", map[string]any{"prompt": ids, "echo": true, "logprobs": 0, "max_tokens": 6, "temperature": 0.7, "seed": 99}, &byIDs)
	if byIDs.Choices[0].Text != c.Text {
		t.Errorf("token-id prompt gave %q, text prompt %q", byIDs.Choices[0].Text, c.Text)
	}
}

func (f *fixture) referenceCompletion(t *testing.T, ids []int32, gc model.GenerateConfig) (string, model.Generation, string) {
	t.Helper()
	return f.reference(t, ids, gc)
}

// TestCompletionPromptList: a list of prompts with n choices each gives
// prompts×n choices, indexed prompt-major, each as if sent alone.
func TestCompletionPromptList(t *testing.T) {
	f := newFixture(t, Config{})
	prompts := []string{"the quick brown", "hello there"}
	var r complReply
	f.postOK(t, "/v1/completions", map[string]any{"prompt": prompts, "n": 2, "max_tokens": 5, "seed": 3, "temperature": 1}, &r)
	if len(r.Choices) != 4 {
		t.Fatalf("%d choices, want 4", len(r.Choices))
	}
	for i, c := range r.Choices {
		var alone complReply
		f.postOK(t, "/v1/completions", map[string]any{"prompt": prompts[i/2], "n": 2, "max_tokens": 5, "seed": 3, "temperature": 1}, &alone)
		if c.Index != i || c.Text != alone.Choices[i%2].Text {
			t.Errorf("choice %d: %q in the list, %q alone", i, c.Text, alone.Choices[i%2].Text)
		}
	}
	wantPrompt := len(f.tok.Encode(prompts[0])) + len(f.tok.Encode(prompts[1]))
	if r.Usage.PromptTokens != wantPrompt {
		t.Errorf("prompt tokens %d, want %d (each prompt once)", r.Usage.PromptTokens, wantPrompt)
	}
}

// TestCompletionStreamEcho: a streamed completion with echo sends the
// prompt first, then text that adds up to the non-streamed reply, with
// log-probs for every token.
func TestCompletionStreamEcho(t *testing.T) {
	f := newFixture(t, Config{})
	body := map[string]any{"prompt": "hello there", "echo": true, "logprobs": 2, "max_tokens": 8, "seed": 4, "temperature": 1}
	var whole complReply
	f.postOK(t, "/v1/completions", body, &whole)
	body["stream"] = true
	_, raw := f.post(t, "/v1/completions", body)
	events := sseEvents(t, raw)
	if events[len(events)-1] != "[DONE]" {
		t.Fatalf("no [DONE]: %v", events)
	}
	checkUsageKeys(t, events, false)
	body["stream_options"] = map[string]any{"include_usage": true}
	_, rawUsage := f.post(t, "/v1/completions", body)
	checkUsageKeys(t, sseEvents(t, rawUsage), true)
	var text string
	var lps []*float64
	var offsets []int
	var finish string
	for _, ev := range events[:len(events)-1] {
		var c complReply
		mustUnmarshal(t, ev, &c)
		ch := c.Choices[0]
		text += ch.Text
		if ch.Logprobs != nil {
			lps = append(lps, ch.Logprobs.TokenLogprobs...)
			offsets = append(offsets, ch.Logprobs.TextOffset...)
		}
		if ch.FinishReason != nil {
			finish = *ch.FinishReason
		}
	}
	w := whole.Choices[0]
	if text != w.Text || finish != *w.FinishReason {
		t.Errorf("stream %q (%s), whole %q (%s)", text, finish, w.Text, *w.FinishReason)
	}
	if len(lps) != len(w.Logprobs.TokenLogprobs) || lps[0] != nil {
		t.Fatalf("stream has %d logprobs, whole %d", len(lps), len(w.Logprobs.TokenLogprobs))
	}
	for i := range offsets {
		if offsets[i] != w.Logprobs.TextOffset[i] || (i > 0 && math.Abs(*lps[i]-*w.Logprobs.TokenLogprobs[i]) > 1e-6) {
			t.Errorf("token %d: stream offset %d logprob %v, whole %d %v", i, offsets[i], lps[i], w.Logprobs.TextOffset[i], w.Logprobs.TokenLogprobs[i])
		}
	}
}

// TestCompletionBOS: with a tokenizer that puts a BOS before every
// sequence (Llama-3 style), a text prompt is scored after the BOS, which
// is listed first (no log-prob) but takes no room in the echoed text.
func TestCompletionBOS(t *testing.T) {
	tok, err := tokenizer.Train(testCorpus, tokenizer.TrainConfig{
		VocabSize: 300, Special: []string{"<|begin_of_text|>", "<|eot_id|>"}, BOS: "<|begin_of_text|>", EOS: "<|eot_id|>",
	})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureTok(t, Config{}, tok)
	prompt := "hello there"
	bos, _ := tok.BOS()
	ids := append([]int32{bos}, tok.Encode(prompt)...)
	want := forwardLogprobs(t, f.m, ids)
	var r complReply
	f.postOK(t, "/v1/completions", map[string]any{"prompt": prompt, "echo": true, "logprobs": 0, "max_tokens": 0}, &r)
	c := r.Choices[0]
	lp := c.Logprobs
	if c.Text != prompt || len(lp.Tokens) != len(ids) || lp.Tokens[0] != "<|begin_of_text|>" || lp.TokenLogprobs[0] != nil {
		t.Fatalf("text %q tokens %q logprobs %v", c.Text, lp.Tokens, lp.TokenLogprobs)
	}
	for i := 1; i < len(ids); i++ {
		if math.Abs(*lp.TokenLogprobs[i]-want[i]) > 1e-4 {
			t.Errorf("token %d: %g, forward %g", i, *lp.TokenLogprobs[i], want[i])
		}
		if wantOff := utf8.RuneCountInString(tok.Decode(ids[1:i])); lp.TextOffset[i] != wantOff {
			t.Errorf("token %d: offset %d, want %d", i, lp.TextOffset[i], wantOff)
		}
	}
	if lp.TextOffset[0] != 0 {
		t.Errorf("BOS offset %d", lp.TextOffset[0])
	}
}
