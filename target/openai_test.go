package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const secret = "sk-test-DO-NOT-LEAK-1234567890"

// fastCfg returns a config with short backoffs so retry tests stay fast.
func fastCfg(url string) HTTPConfig {
	return HTTPConfig{BaseURL: url + "/v1", Model: "m", MaxRetries: 3,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, Timeout: 2 * time.Second}
}

func okReply(w http.ResponseWriter, texts ...string) {
	type msg struct {
		Content string `json:"content"`
	}
	type choice struct {
		Message msg `json:"message"`
	}
	var cs []choice
	for _, t := range texts {
		cs = append(cs, choice{msg{t}})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"choices": cs, "usage": map[string]int{"prompt_tokens": 3, "completion_tokens": 1}})
}

func TestChatSendsParamsAndKey(t *testing.T) {
	t.Setenv("ALIGNLAB_TEST_KEY", secret)
	var got chatBody
	var auth, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, path = r.Header.Get("Authorization"), r.URL.Path
		json.NewDecoder(r.Body).Decode(&got)
		okReply(w, "a", "b")
	}))
	defer srv.Close()
	cfg := fastCfg(srv.URL)
	cfg.APIKeyEnv = "ALIGNLAB_TEST_KEY"
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.Chat(context.Background(), Request{
		Messages: []Message{{Role: "user", Content: "hi"}},
		Params:   Params{Temperature: 0.7, MaxTokens: 12, N: 2, Seed: 42, HasSeed: true}})
	if err != nil {
		t.Fatal(err)
	}
	if path != "/v1/chat/completions" || auth != "Bearer "+secret {
		t.Errorf("path %q auth %q", path, auth)
	}
	if got.Model != "m" || got.Temperature != 0.7 || got.MaxTokens != 12 || got.N != 2 || got.Seed == nil || *got.Seed != 42 {
		t.Errorf("body %+v", got)
	}
	if len(resp.Choices) != 2 || resp.Choices[1] != "b" || resp.Usage.PromptTokens != 3 {
		t.Errorf("response %+v", resp)
	}
	if strings.Contains(h.Name(), secret) || strings.Contains(fmt.Sprintf("%v %+v %#v %s", h, h, h, h), secret) {
		t.Error("client formatting shows the key")
	}
}

func TestNoSeedWhenUnset(t *testing.T) {
	var raw map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&raw)
		okReply(w, "x")
	}))
	defer srv.Close()
	h, _ := NewHTTP(fastCfg(srv.URL))
	if _, err := h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["seed"]; ok {
		t.Error("seed sent although unset")
	}
	if _, ok := raw["n"]; ok {
		t.Error("n sent for a single choice")
	}
}

func TestMissingKeyEnv(t *testing.T) {
	t.Setenv("ALIGNLAB_EMPTY_KEY", "")
	cfg := fastCfg("http://127.0.0.1:1")
	cfg.APIKeyEnv = "ALIGNLAB_EMPTY_KEY"
	if _, err := NewHTTP(cfg); err == nil || !strings.Contains(err.Error(), "ALIGNLAB_EMPTY_KEY") {
		t.Errorf("err = %v", err)
	}
}

// TestRetries covers each failure kind: how many attempts are made and
// what the final error says.
func TestRetries(t *testing.T) {
	cases := []struct {
		name       string
		handler    func(n int, w http.ResponseWriter)
		wantErr    string // "" for success
		wantCalls  int
		wantFatal  bool
		configured func(*HTTPConfig)
	}{
		{name: "503 then ok", wantCalls: 3, handler: func(n int, w http.ResponseWriter) {
			if n < 3 {
				w.WriteHeader(503)
				return
			}
			okReply(w, "ok")
		}},
		{name: "429 always", wantCalls: 4, wantErr: "HTTP 429", handler: func(n int, w http.ResponseWriter) {
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"message":"slow down"}}`)
		}},
		{name: "401 not retried", wantCalls: 1, wantErr: "HTTP 401", wantFatal: true, handler: func(n int, w http.ResponseWriter) {
			w.WriteHeader(401)
		}},
		{name: "garbage retried", wantCalls: 4, wantErr: "unreadable reply", handler: func(n int, w http.ResponseWriter) {
			io.WriteString(w, "<html>bad gateway</html>")
		}},
		{name: "no choices", wantCalls: 4, wantErr: `no "choices"`, handler: func(n int, w http.ResponseWriter) {
			io.WriteString(w, `{"choices":[]}`)
		}},
		{name: "null content", wantCalls: 4, wantErr: "no message content", handler: func(n int, w http.ResponseWriter) {
			io.WriteString(w, `{"choices":[{"message":{"content":null}}]}`)
		}},
		{name: "hang then ok", wantCalls: 2, handler: func(n int, w http.ResponseWriter) {
			if n == 1 {
				time.Sleep(300 * time.Millisecond)
			}
			okReply(w, "ok")
		}, configured: func(c *HTTPConfig) { c.Timeout = 100 * time.Millisecond }},
		{name: "hang always", wantCalls: 2, wantErr: "per-request timeout", handler: func(n int, w http.ResponseWriter) {
			time.Sleep(300 * time.Millisecond)
		}, configured: func(c *HTTPConfig) { c.Timeout = 50 * time.Millisecond; c.MaxRetries = 1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.handler(int(calls.Add(1)), w)
			}))
			defer srv.Close()
			cfg := fastCfg(srv.URL)
			if tc.configured != nil {
				tc.configured(&cfg)
			}
			h, _ := NewHTTP(cfg)
			_, err := h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}})
			if int(calls.Load()) != tc.wantCalls {
				t.Errorf("calls = %d, want %d", calls.Load(), tc.wantCalls)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if Fatal(err) != tc.wantFatal {
				t.Errorf("Fatal = %v", Fatal(err))
			}
			if tc.wantCalls > 1 && !strings.Contains(err.Error(), fmt.Sprintf("after %d attempts", tc.wantCalls)) {
				t.Errorf("error does not count attempts: %v", err)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	h, _ := NewHTTP(fastCfg(url))
	_, err := h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}})
	var e *Error
	if !errors.As(err, &e) || e.Attempts != 4 || !strings.Contains(err.Error(), "connection failed") {
		t.Errorf("err = %v", err)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	var first time.Time
	var gap time.Duration
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "0.2")
			w.WriteHeader(429)
			return
		}
		gap = time.Since(first)
		okReply(w, "ok")
	}))
	defer srv.Close()
	h, _ := NewHTTP(fastCfg(srv.URL))
	if _, err := h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}}); err != nil {
		t.Fatal(err)
	}
	if gap < 200*time.Millisecond {
		t.Errorf("retried after %v, Retry-After asked 200ms", gap)
	}
}

func TestKeyNeverInErrors(t *testing.T) {
	t.Setenv("ALIGNLAB_TEST_KEY", secret)
	// A hostile server echoes the Authorization header back.
	for _, status := range []int{200, 400, 500} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, "echo: "+r.Header.Get("Authorization"))
		}))
		cfg := fastCfg(srv.URL)
		cfg.APIKeyEnv = "ALIGNLAB_TEST_KEY"
		cfg.MaxRetries = 1
		h, _ := NewHTTP(cfg)
		_, err := h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}})
		srv.Close()
		if err == nil {
			t.Fatalf("status %d: no error", status)
		}
		msg := fmt.Sprintf("%v %+v %#v", err, err, err)
		if strings.Contains(msg, secret) {
			t.Errorf("status %d: error leaks the key: %s", status, msg)
		}
		if !strings.Contains(err.Error(), "[REDACTED]") {
			t.Errorf("status %d: expected a redacted echo: %v", status, err)
		}
	}
	// Credentials in the URL are dropped from names and errors too.
	h, err := NewHTTP(HTTPConfig{BaseURL: "http://user:" + secret + "@127.0.0.1:1/v1?key=" + secret, Model: "m", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}})
	if strings.Contains(h.Name(), secret) || err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("URL credentials leak: %s / %v", h.Name(), err)
	}
}

func TestConcurrencyBound(t *testing.T) {
	var cur, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
		okReply(w, "ok")
	}))
	defer srv.Close()
	cfg := fastCfg(srv.URL)
	cfg.Concurrency = 3
	h, _ := NewHTTP(cfg)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}})
		}()
	}
	wg.Wait()
	if peak.Load() > 3 || peak.Load() < 2 {
		t.Errorf("peak in flight = %d, want <= 3 (and some overlap)", peak.Load())
	}
}

func TestRPMLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { okReply(w, "ok") }))
	defer srv.Close()
	cfg := fastCfg(srv.URL)
	cfg.RPM = 1200 // 20 per second
	h, _ := NewHTTP(cfg)
	start := time.Now()
	for range 5 {
		if _, err := h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "q"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Errorf("5 requests at 20/s took %v, want >= 200ms", d)
	}
}

func TestCancelStopsRetrying(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	cfg := fastCfg(srv.URL)
	cfg.BackoffBase, cfg.BackoffMax, cfg.MaxRetries = time.Second, 10*time.Second, 10
	h, _ := NewHTTP(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Chat(ctx, Request{Messages: []Message{{Role: "user", Content: "q"}}})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
}

func TestBackoffFullJitter(t *testing.T) {
	for attempt := range 6 {
		for range 200 {
			d := backoff(attempt, 10*time.Millisecond, 100*time.Millisecond, 0, time.Minute)
			ceil := min(10*time.Millisecond<<attempt, 100*time.Millisecond)
			if d < 0 || d > ceil {
				t.Fatalf("attempt %d: %v outside [0, %v]", attempt, d, ceil)
			}
		}
	}
	if d := backoff(0, time.Millisecond, time.Millisecond, 3*time.Second, 2*time.Second); d != 2*time.Second {
		t.Errorf("Retry-After floor capped: got %v", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"0.5":                           500 * time.Millisecond,
		"-1":                            0,
		"soon":                          0,
		"Wed, 01 Jan 2025 00:00:10 GMT": 10 * time.Second,
		"Tue, 31 Dec 2024 00:00:10 GMT": 0,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	f.Add("3")
	f.Add("Wed, 01 Jan 2025 00:00:10 GMT")
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, time.Now()); d < 0 {
			t.Errorf("negative %v", d)
		}
	})
}

func FuzzParseChatReply(f *testing.F) {
	f.Add([]byte(`{"choices":[{"message":{"content":"x"}}]}`), 1)
	f.Add([]byte(`{"choices":[{"message":null}]}`), 1)
	f.Add([]byte(`garbage`), 2)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		r, err := parseChatReply(data, n)
		if err == nil && (r == nil || len(r.Choices) == 0 || len(r.Choices) < n) {
			t.Errorf("accepted a reply without enough choices: %+v", r)
		}
	})
}

// TestBaseURLWithQuery: the endpoint's path is joined before its query
// (Azure-style ?api-version=...), for a base URL and for a full
// /chat/completions URL alike.
func TestBaseURLWithQuery(t *testing.T) {
	var path, query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, query = r.URL.Path, r.URL.RawQuery
		okReply(w, "a")
	}))
	defer srv.Close()
	for _, base := range []string{srv.URL + "/v1?api-version=2024-06-01", srv.URL + "/v1/chat/completions?api-version=2024-06-01"} {
		cfg := fastCfg(srv.URL)
		cfg.BaseURL = base
		h, err := NewHTTP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "hi"}}}); err != nil {
			t.Fatal(err)
		}
		if path != "/v1/chat/completions" || query != "api-version=2024-06-01" {
			t.Errorf("%s: request to path %q query %q", base, path, query)
		}
		if strings.Contains(h.Name(), "api-version") {
			t.Errorf("name %q shows the query", h.Name())
		}
	}
}
