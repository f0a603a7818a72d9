package serve

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentEqualsSequential: requests sent all at once (batched
// together, in a cache with fewer slots than requests, so slots are reused)
// get exactly the answers they get one at a time.
func TestConcurrentEqualsSequential(t *testing.T) {
	f := newFixture(t, Config{MaxBatch: 4})
	type call struct {
		path string
		body map[string]any
	}
	var calls []call
	for i := range 12 {
		seed := 100 + i
		switch i % 3 {
		case 0:
			calls = append(calls, call{"/v1/chat/completions", map[string]any{"messages": testMessages, "temperature": 1, "seed": seed, "max_tokens": 5 + i, "logprobs": true}})
		case 1:
			calls = append(calls, call{"/v1/completions", map[string]any{"prompt": "the quick brown fox", "temperature": 0.8, "top_p": 0.9, "seed": seed, "max_tokens": 3 + i, "n": 2}})
		case 2:
			calls = append(calls, call{"/v1/completions", map[string]any{"prompt": "hello there, how are", "echo": true, "logprobs": 2, "temperature": 1.2, "top_k": 20, "seed": seed, "max_tokens": i}})
		}
	}
	run := func(c call) string {
		code, raw := f.post(t, c.path, c.body)
		if code != 200 {
			t.Errorf("status %d: %s", code, raw)
		}
		return normalize(t, raw)
	}
	sequential := make([]string, len(calls))
	for i, c := range calls {
		sequential[i] = run(c)
	}
	concurrent := make([]string, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			concurrent[i] = run(c)
		}()
	}
	wg.Wait()
	for i := range calls {
		if sequential[i] != concurrent[i] {
			t.Errorf("call %d:\nsequential %s\nconcurrent %s", i, sequential[i], concurrent[i])
		}
	}
	if n := f.s.eng.stats.maxActive.Load(); n < 2 {
		t.Errorf("at most %d sequences ran together: nothing was batched", n)
	}
}

// normalize drops the fields that differ between identical answers (id,
// created) and rounds log-probs, which batching may move in the last bits.
func normalize(t *testing.T, raw []byte) string {
	t.Helper()
	var v map[string]any
	mustUnmarshal(t, string(raw), &v)
	delete(v, "id")
	delete(v, "created")
	return fmt.Sprint(round(v))
}

func round(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = round(e)
		}
	case []any:
		for i, e := range x {
			x[i] = round(e)
		}
	case float64:
		return fmt.Sprintf("%.3f", x)
	}
	return v
}

// waitIdle waits until the engine holds no sequence.
func waitIdle(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.eng.stats.running.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sequences still hold slots", s.eng.stats.running.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDisconnectFreesSlot: a client that leaves mid-stream frees its slot,
// and the next request is served.
func TestDisconnectFreesSlot(t *testing.T) {
	f := newFixture(t, Config{MaxBatch: 1, stepHook: func() { time.Sleep(time.Millisecond) }})
	ctx, cancel := context.WithCancel(context.Background())
	body := `{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":100,"ignore_eos":true}`
	req, _ := http.NewRequestWithContext(ctx, "POST", f.ts.URL+"/v1/chat/completions", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for i := 0; i < 3 && sc.Scan(); i++ {
	}
	if f.s.eng.stats.running.Load() != 1 {
		t.Fatalf("the stream holds no slot")
	}
	cancel()
	resp.Body.Close()
	waitIdle(t, f.s)
	if got := f.s.eng.stats.tokens.Load(); got >= 100 {
		t.Errorf("the abandoned sequence ran to the end (%d tokens)", got)
	}
	var r chatReply
	f.postOK(t, "/v1/chat/completions", map[string]any{"messages": testMessages, "max_tokens": 3}, &r)
}

// serveOn runs s.Serve on a loopback port and returns its base URL and a
// function that triggers shutdown and waits for Serve to return.
func serveOn(t *testing.T, s *Server, grace time.Duration) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln, grace) }()
	return "http://" + ln.Addr().String(), func() error {
		cancel()
		return <-errc
	}
}

// TestGracefulShutdown: on shutdown a stream in flight runs to its end
// within the grace period, new connections are refused, and Serve returns
// nil.
func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t, Config{stepHook: func() { time.Sleep(2 * time.Millisecond) }})
	url, stop := serveOn(t, f.s, 10*time.Second)
	body := `{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":30,"ignore_eos":true}`
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Scan() // the role chunk: the request is in flight
	done := make(chan error, 1)
	go func() { done <- stop() }()
	var lines []string
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) < 2 || lines[len(lines)-1] != "data: [DONE]" || !strings.Contains(lines[len(lines)-2], `"finish_reason":"length"`) {
		t.Fatalf("stream did not finish: %q", lines)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

// TestShutdownCutsAfterGrace: a request that outlives the grace period is
// cut: its stream ends with an error event.
func TestShutdownCutsAfterGrace(t *testing.T) {
	f := newFixture(t, Config{stepHook: func() { time.Sleep(5 * time.Millisecond) }})
	url, stop := serveOn(t, f.s, 50*time.Millisecond)
	body := `{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":100,"ignore_eos":true}`
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Scan()
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	var all strings.Builder
	for sc.Scan() {
		all.WriteString(sc.Text() + "\n")
	}
	if !strings.Contains(all.String(), `"server_shutting_down"`) {
		t.Errorf("the cut stream carries no shutdown error:\n%s", all.String())
	}
}

// TestLongStreamOutlivesBodyDeadline: the body's read deadline is lifted
// once the body is read, so a stream may run longer than it.
func TestLongStreamOutlivesBodyDeadline(t *testing.T) {
	old := bodyTimeout
	bodyTimeout = 50 * time.Millisecond
	defer func() { bodyTimeout = old }()
	f := newFixture(t, Config{stepHook: func() { time.Sleep(5 * time.Millisecond) }})
	url, stop := serveOn(t, f.s, time.Second)
	defer stop()
	start := time.Now()
	body := `{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":40,"ignore_eos":true}`
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	last := ""
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			last = l
		}
	}
	if last != "data: [DONE]" || time.Since(start) < 4*bodyTimeout {
		t.Errorf("stream ended with %q after %v", last, time.Since(start))
	}
}
