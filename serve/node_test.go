package serve

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestOpenAINodeClient runs the official openai npm client
// (testdata/openai-client, installed by .ci/run with npm ci) against a
// running server: models, chat with logprobs, streaming chat, completions
// with echo + logprobs, and the client's error classes. It skips when node
// or the installed client is missing.
func TestOpenAINodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir := filepath.Join("testdata", "openai-client")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai")); err != nil {
		t.Skip("openai npm client not installed (cd serve/testdata/openai-client && npm ci)")
	}
	f := newFixture(t, Config{ModelName: "tiny", APIKey: "sk-node-test"})
	url, stop := serveOn(t, f.s, time.Second)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs", url+"/v1", "sk-node-test", "tiny")
	cmd.Dir = dir
	raw, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node client: %v\n%s\n%s", err, raw, stderr)
	}
	var got struct {
		Models []string `json:"models"`
		Chat   struct {
			Content, Role, Finish string
			Usage                 usage
			Logprobs              []float64
			Top                   []int
		}
		Stream struct {
			Content, Finish string
			Usage           *usage
		}
		Completion struct {
			Text          string
			Finish        string
			TokenLogprobs []*float64 `json:"token_logprobs"`
			TextOffset    []int      `json:"text_offset"`
		}
		AuthError  string `json:"auth_error"`
		BadRequest string `json:"bad_request"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	t.Logf("node: %s", raw)
	if len(got.Models) != 1 || got.Models[0] != "tiny" {
		t.Errorf("models %v", got.Models)
	}
	// What the Go side gets for the same requests.
	var want chatReply
	f.postOK(t, "/v1/chat/completions", map[string]any{"model": "tiny", "messages": testMessages, "max_tokens": 8, "temperature": 0, "seed": 1, "logprobs": true}, &want)
	w := want.Choices[0]
	if got.Chat.Content != w.Message.Content || got.Chat.Role != "assistant" || got.Chat.Finish != *w.FinishReason || got.Chat.Usage != *want.Usage {
		t.Errorf("chat: node %+v, want %q (%s) %+v", got.Chat, w.Message.Content, *w.FinishReason, *want.Usage)
	}
	if len(got.Chat.Logprobs) != len(w.Logprobs.Content) {
		t.Errorf("chat: %d logprobs, want %d", len(got.Chat.Logprobs), len(w.Logprobs.Content))
	}
	for i, lp := range got.Chat.Logprobs {
		if i < len(w.Logprobs.Content) && math.Abs(lp-w.Logprobs.Content[i].Logprob) > 1e-6 || got.Chat.Top[i] != 2 {
			t.Errorf("chat token %d: logprob %g with %d alternatives", i, lp, got.Chat.Top[i])
		}
	}
	if got.Stream.Content != got.Chat.Content || got.Stream.Finish != got.Chat.Finish || got.Stream.Usage == nil || *got.Stream.Usage != got.Chat.Usage {
		t.Errorf("stream %+v, chat %+v", got.Stream, got.Chat)
	}
	c := got.Completion
	n := len(f.tok.Encode("hello there, how are you"))
	if c.Text != "hello there, how are you" || c.Finish != "length" || len(c.TokenLogprobs) != n || c.TokenLogprobs[0] != nil || len(c.TextOffset) != n {
		t.Errorf("completion %+v (want %d tokens)", c, n)
	}
	for i := 1; i < len(c.TokenLogprobs); i++ {
		if c.TokenLogprobs[i] == nil || *c.TokenLogprobs[i] >= 0 {
			t.Errorf("completion token %d: logprob %v", i, c.TokenLogprobs[i])
		}
	}
	if got.AuthError != "AuthenticationError:401" {
		t.Errorf("wrong key raised %q, want AuthenticationError:401", got.AuthError)
	}
	if got.BadRequest != "BadRequestError:400:n" {
		t.Errorf("n=1000 raised %q, want BadRequestError:400:n", got.BadRequest)
	}
}
