package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// TestServeRefusesRemoteWithoutKey: a non-loopback address needs a key or
// --allow-remote, and the refusal comes before anything is loaded.
func TestServeRefusesRemoteWithoutKey(t *testing.T) {
	t.Setenv(apiKeyEnv, " \r\n") // blank: no key
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		err := runServe(context.Background(), serveFlags{model: "does-not-exist", addr: addr}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	// With a key (flag or environment) it gets as far as loading.
	t.Setenv(apiKeyEnv, "sk-secret")
	var logs bytes.Buffer
	err := runServe(context.Background(), serveFlags{model: "does-not-exist", addr: "0.0.0.0:0"}, &logs)
	if err == nil || strings.Contains(err.Error(), "--allow-remote") || strings.Contains(err.Error()+logs.String(), "sk-secret") {
		t.Errorf("with a key: %v %s", err, logs.String())
	}
}

// TestServeEndToEnd runs the command on a free loopback port over a saved
// checkpoint: it answers with the key, refuses without, stops cleanly on
// cancel, and never logs the key.
func TestServeEndToEnd(t *testing.T) {
	tok, err := tokenizer.Train([]string{"hello there, how are you today?"}, tokenizer.TrainConfig{
		VocabSize: 280, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.LlamaConfig(tok.VocabSize(), 64, 1, 2, 2, 16, 32), 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := errors.Join(m.Save(dir), tok.Save(dir)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	logs, ready := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, serveFlags{model: dir, addr: addr, apiKey: "sk-e2e-secret", maxBatch: 4, maxBodyBytes: 1 << 20, maxN: 4, grace: time.Second,
			asJSON: true, ready: ready}, logs)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not come up: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	body := `{"model":"` + filepath.Base(dir) + `","messages":[{"role":"user","content":"hi"}],"max_tokens":3}`
	for key, want := range map[string]int{"sk-e2e-secret": 200, "nope": 401} {
		req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("key %q: status %d, want %d: %s", key, resp.StatusCode, want, raw)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	// --json: the ready line tells a script where the server is.
	var rd struct{ URL, Model, Addr string }
	if err := json.Unmarshal([]byte(ready.String()), &rd); err != nil || rd.URL != base+"/v1" || rd.Model != filepath.Base(dir) {
		t.Errorf("ready line %q (%v): want the URL %s/v1 and model", ready.String(), err, base)
	}
	out := logs.String()
	if !strings.Contains(out, "/v1/chat/completions") || !strings.Contains(out, "stopped") {
		t.Errorf("logs miss the requests or the stop:\n%s", out)
	}
	if strings.Contains(out, "sk-e2e-secret") {
		t.Errorf("the API key appears in the logs:\n%s", out)
	}
}

// lockedBuffer is a log sink the server goroutine writes while the test
// reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
