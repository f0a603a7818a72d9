package serve

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

var testMessages = []map[string]string{
	{"role": "system", "content": "You answer briefly."},
	{"role": "user", "content": "what is two plus two?"},
}

// reference generates what the server should answer for msgs, straight
// from the model: the text (stop token dropped), tokens, log-probs and
// finish reason.
func (f *fixture) reference(t *testing.T, prompt []int32, gc model.GenerateConfig) (string, model.Generation, string) {
	t.Helper()
	gc.StopTokens = f.tok.StopTokens()
	gens, err := f.m.Generate([][]int32{prompt}, gc)
	if err != nil {
		t.Fatal(err)
	}
	g := gens[0]
	toks, finish := g.Tokens, "length"
	if g.Stopped {
		toks, finish = toks[:len(toks)-1], "stop"
	}
	return f.s.tok.DecodeSkipSpecial(toks), g, finish
}

func (f *fixture) chatPrompt(t *testing.T) []int32 {
	t.Helper()
	var msgs []tokenizer.Message
	for _, m := range testMessages {
		msgs = append(msgs, tokenizer.Message{Role: m["role"], Content: m["content"]})
	}
	ids, _, err := f.tok.EncodeChat(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestModels(t *testing.T) {
	f := newFixture(t, Config{ModelName: "tiny-llama"})
	resp, err := http.Get(f.ts.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ml modelList
	if err := json.NewDecoder(resp.Body).Decode(&ml); err != nil {
		t.Fatal(err)
	}
	if ml.Object != "list" || len(ml.Data) != 1 || ml.Data[0].ID != "tiny-llama" || ml.Data[0].Object != "model" || ml.Data[0].MaxModelLen != 128 {
		t.Errorf("models: %+v", ml)
	}
}

// TestChatGreedyMatchesGenerate: a greedy chat reply is exactly what
// model.Generate gives for the chat-templated prompt, and usage counts it.
func TestChatGreedyMatchesGenerate(t *testing.T) {
	f := newFixture(t, Config{})
	prompt := f.chatPrompt(t)
	want, g, finish := f.reference(t, prompt, model.GenerateConfig{MaxNewTokens: 12})
	var r chatReply
	f.postOK(t, "/v1/chat/completions", map[string]any{"model": "tiny", "messages": testMessages, "temperature": 0, "max_tokens": 12}, &r)
	if r.Object != "chat.completion" || !strings.HasPrefix(r.ID, "chatcmpl-") || r.Model != "tiny" || len(r.Choices) != 1 {
		t.Fatalf("reply: %+v", r)
	}
	c := r.Choices[0]
	if c.Message.Role != "assistant" || c.Message.Content != jsonText(want) || *c.FinishReason != finish {
		t.Errorf("got %q (%s), want %q (%s)", c.Message.Content, *c.FinishReason, want, finish)
	}
	if r.Usage == nil || r.Usage.PromptTokens != len(prompt) || r.Usage.CompletionTokens != len(g.Tokens) || r.Usage.TotalTokens != len(prompt)+len(g.Tokens) {
		t.Errorf("usage %+v, want %d prompt and %d completion tokens", r.Usage, len(prompt), len(g.Tokens))
	}
}

// TestChatSeededChoices: with a seed, choice j samples exactly what
// Generate gives alone with seed+j, log-probs included.
func TestChatSeededChoices(t *testing.T) {
	f := newFixture(t, Config{})
	prompt := f.chatPrompt(t)
	var r chatReply
	f.postOK(t, "/v1/chat/completions", map[string]any{"messages": testMessages, "temperature": 0.9, "top_p": 0.95,
		"seed": 1234, "n": 3, "max_completion_tokens": 10, "logprobs": true, "top_logprobs": 4}, &r)
	if len(r.Choices) != 3 {
		t.Fatalf("%d choices, want 3", len(r.Choices))
	}
	total := 0
	for j, c := range r.Choices {
		want, g, finish := f.reference(t, prompt, model.GenerateConfig{MaxNewTokens: 10, Temperature: 0.9, TopP: 0.95, Seed: 1234 + int64(j)})
		if c.Index != j || c.Message.Content != jsonText(want) || *c.FinishReason != finish {
			t.Errorf("choice %d: %q (%s), want %q (%s)", j, c.Message.Content, *c.FinishReason, want, finish)
		}
		total += len(g.Tokens)
		n := len(g.Tokens)
		if finish == "stop" {
			n-- // the stop token is not reported
		}
		if c.Logprobs == nil || len(c.Logprobs.Content) != n {
			t.Fatalf("choice %d: logprobs %+v, want %d entries", j, c.Logprobs, n)
		}
		for k, e := range c.Logprobs.Content {
			if math.Abs(e.Logprob-float64(g.LogProbs[k])) > 1e-4 {
				t.Errorf("choice %d token %d: logprob %g, Generate %g", j, k, e.Logprob, g.LogProbs[k])
			}
			if e.Token != f.s.tok.Decode(g.Tokens[k:k+1]) && !strings.HasPrefix(e.Token, "bytes:") {
				t.Errorf("choice %d token %d: %q, want %q", j, k, e.Token, f.s.tok.Decode(g.Tokens[k:k+1]))
			}
			if string(intsToBytes(e.Bytes)) != f.s.tok.Decode(g.Tokens[k:k+1]) {
				t.Errorf("choice %d token %d: bytes %v", j, k, e.Bytes)
			}
			if len(e.TopLogprobs) != 4 || !sortedDesc(e.TopLogprobs) || e.TopLogprobs[3].Logprob > e.Logprob+1e-6 && e.TopLogprobs[0].Logprob < e.Logprob-1e-6 {
				t.Errorf("choice %d token %d: top_logprobs %+v around %g", j, k, e.TopLogprobs, e.Logprob)
			}
		}
	}
	if r.Usage.CompletionTokens != total {
		t.Errorf("completion tokens %d, want %d", r.Usage.CompletionTokens, total)
	}
}

// jsonText is s as a client reads it back from JSON: each invalid UTF-8
// byte becomes U+FFFD.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

func intsToBytes(v []int) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func sortedDesc(v []struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
}) bool {
	return slices.IsSortedFunc(v, func(a, b struct {
		Token   string  `json:"token"`
		Logprob float64 `json:"logprob"`
	}) int {
		switch {
		case a.Logprob > b.Logprob:
			return -1
		case a.Logprob < b.Logprob:
			return 1
		}
		return 0
	})
}

// TestChatStream: streamed deltas add up to the non-streamed reply; the
// stream opens with the role, closes each choice with a finish reason,
// sends usage when asked and ends with [DONE].
func TestChatStream(t *testing.T) {
	f := newFixture(t, Config{})
	body := map[string]any{"messages": testMessages, "temperature": 0.8, "seed": 5, "n": 2, "max_tokens": 16}
	var whole chatReply
	f.postOK(t, "/v1/chat/completions", body, &whole)
	body["stream"] = true
	body["stream_options"] = map[string]any{"include_usage": true}
	code, raw := f.post(t, "/v1/chat/completions", body)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, raw)
	}
	events := sseEvents(t, raw)
	if events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", events[len(events)-1])
	}
	checkUsageKeys(t, events, true)
	text := make([]string, 2)
	var finish [2]string
	var roles int
	var u *usage
	for _, ev := range events[:len(events)-1] {
		var c chatReply
		if err := json.Unmarshal([]byte(ev), &c); err != nil {
			t.Fatalf("%v in %s", err, ev)
		}
		if c.Object != "chat.completion.chunk" || c.ID != "" && !strings.HasPrefix(c.ID, "chatcmpl-") {
			t.Fatalf("chunk %s", ev)
		}
		if c.Usage != nil {
			u = c.Usage
			continue
		}
		ch := c.Choices[0]
		if ch.Delta.Role != nil {
			roles++
		}
		if ch.Delta.Content != nil {
			text[ch.Index] += *ch.Delta.Content
		}
		if ch.FinishReason != nil {
			if finish[ch.Index] != "" {
				t.Errorf("choice %d finished twice", ch.Index)
			}
			finish[ch.Index] = *ch.FinishReason
		}
	}
	if roles != 2 {
		t.Errorf("%d role chunks, want 2", roles)
	}
	for i := range 2 {
		if text[i] != whole.Choices[i].Message.Content || finish[i] != *whole.Choices[i].FinishReason {
			t.Errorf("choice %d: stream %q (%s), whole %q (%s)", i, text[i], finish[i], whole.Choices[i].Message.Content, *whole.Choices[i].FinishReason)
		}
	}
	if u == nil || *u != *whole.Usage {
		t.Errorf("stream usage %+v, whole %+v", u, whole.Usage)
	}
}

// TestChatStopString: the reply is cut before the first stop string, with
// finish_reason "stop", streamed or not.
func TestChatStopString(t *testing.T) {
	f := newFixture(t, Config{})
	var free chatReply
	body := map[string]any{"messages": testMessages, "temperature": 0, "max_tokens": 40, "ignore_eos": true}
	f.postOK(t, "/v1/chat/completions", body, &free)
	text := free.Choices[0].Message.Content
	// Pick a stop string from the middle of the free-running reply.
	stop := ""
	for i := 3; i+2 <= len(text) && stop == ""; i++ {
		if s := text[i : i+2]; strings.IndexFunc(s, func(r rune) bool { return r >= 0x80 || r < 0x20 }) < 0 {
			stop = s
		}
	}
	if stop == "" {
		t.Skipf("no ASCII pair in the reply %q to stop at", text)
	}
	want := text[:strings.Index(text, stop)]
	body["stop"] = []string{"never-appears", stop}
	var r chatReply
	f.postOK(t, "/v1/chat/completions", body, &r)
	if got := r.Choices[0].Message.Content; got != want || *r.Choices[0].FinishReason != "stop" {
		t.Errorf("stop %q: got %q (%s), want %q", stop, got, *r.Choices[0].FinishReason, want)
	}
	body["stream"] = true
	_, raw := f.post(t, "/v1/chat/completions", body)
	var streamed string
	for _, ev := range sseEvents(t, raw) {
		var c chatReply
		if ev == "[DONE]" || json.Unmarshal([]byte(ev), &c) != nil || len(c.Choices) == 0 {
			continue
		}
		if d := c.Choices[0].Delta.Content; d != nil {
			streamed += *d
		}
	}
	if streamed != want {
		t.Errorf("streamed %q, want %q", streamed, want)
	}
}

// TestChatEchoedHistory: a conversation as openai-python sends it back
// (assistant turns with refusal, annotations, audio and function_call all
// null) is accepted, and so is one under a reasoning model's template,
// which drops <think> blocks from earlier assistant turns (the loss mask
// cannot follow that rewrite; serving needs no mask).
func TestChatEchoedHistory(t *testing.T) {
	tok, err := tokenizer.Train(testCorpus, tokenizer.TrainConfig{
		VocabSize: 320, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	const reasoning = `{%- for m in messages -%}` +
		`{%- if m.role == 'assistant' -%}<|im_start|>assistant\n{{ m.content.split('</think>')[-1] | trim }}<|im_end|>\n` +
		`{%- else -%}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endif -%}{%- endfor -%}` +
		`{%- if add_generation_prompt -%}<|im_start|>assistant\n<think>\n{%- endif -%}`
	if err := tok.SetChatTemplate(reasoning); err != nil {
		t.Fatal(err)
	}
	f := newFixtureTok(t, Config{}, tok)
	msgs := []map[string]any{
		{"role": "user", "content": "hi"},
		{"role": "assistant", "content": "<think>\nhmm\n</think>\n\nhello", "refusal": nil, "annotations": nil, "audio": nil, "function_call": nil, "tool_calls": nil},
		{"role": "user", "content": "again"},
	}
	var r chatReply
	f.postOK(t, "/v1/chat/completions", map[string]any{"model": "tiny", "messages": msgs, "max_tokens": 2}, &r)
	if len(r.Choices) != 1 {
		t.Fatalf("reply %+v", r)
	}
	msgs[1]["function_call"] = map[string]any{"name": "f", "arguments": "{}"}
	if code, body := f.post(t, "/v1/chat/completions", map[string]any{"model": "tiny", "messages": msgs, "max_tokens": 2}); code != http.StatusBadRequest {
		t.Errorf("a function_call in history: status %d, %s", code, body)
	}
}

// checkUsageKeys checks the "usage" key of a stream's chunks (events,
// ending with [DONE]) as OpenAI sends them: with include_usage, on every
// chunk, null but on the last, which has no choices; without, on none.
func checkUsageKeys(t *testing.T, events []string, included bool) {
	t.Helper()
	chunks := events[:len(events)-1]
	for i, ev := range chunks {
		var c map[string]json.RawMessage
		mustUnmarshal(t, ev, &c)
		u, ok := c["usage"]
		last := i == len(chunks)-1
		switch {
		case !included && ok:
			t.Errorf("chunk %d has usage without include_usage: %s", i, ev)
		case included && !ok:
			t.Errorf("chunk %d has no usage key: %s", i, ev)
		case included && !last && string(u) != "null":
			t.Errorf("chunk %d: usage %s before the last chunk", i, u)
		case included && last && (string(u) == "null" || string(c["choices"]) != "[]"):
			t.Errorf("last chunk: usage %s, choices %s", u, c["choices"])
		}
	}
}
