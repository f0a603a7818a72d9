package serve

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestErrors: each bad request gets the OpenAI status, type, param and
// code, so clients raise their usual exceptions.
func TestErrors(t *testing.T) {
	f := newFixture(t, Config{MaxTokensLimit: 50, MaxBodyBytes: 4096, MaxN: 4})
	chat := func(extra map[string]any) map[string]any {
		b := map[string]any{"messages": testMessages}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 30)
	cases := []struct {
		name   string
		path   string
		body   any
		status int
		param  string
		code   string
	}{
		{"bad json", "/v1/chat/completions", `{"messages": [`, 400, "", ""},
		{"not an object", "/v1/chat/completions", `[1, 2]`, 400, "", ""},
		{"two values", "/v1/chat/completions", `{"messages": []} {}`, 400, "", ""},
		{"unknown field", "/v1/chat/completions", chat(map[string]any{"temprature": 0.5}), 400, "temprature", ""},
		{"wrong type", "/v1/chat/completions", chat(map[string]any{"max_tokens": "ten"}), 400, "max_tokens", ""},
		{"no messages", "/v1/chat/completions", map[string]any{"messages": []any{}}, 400, "messages", ""},
		{"bad role", "/v1/chat/completions", map[string]any{"messages": []any{map[string]any{"role": "robot", "content": "hi"}}}, 400, "messages", ""},
		{"image part", "/v1/chat/completions", map[string]any{"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "image_url", "image_url": map[string]any{"url": "x"}}}}}}, 400, "messages", ""},
		{"n too large", "/v1/chat/completions", chat(map[string]any{"n": 5}), 400, "n", ""},
		{"n zero", "/v1/chat/completions", chat(map[string]any{"n": 0}), 400, "n", ""},
		{"temperature", "/v1/chat/completions", chat(map[string]any{"temperature": 2.5}), 400, "temperature", ""},
		{"top_p", "/v1/chat/completions", chat(map[string]any{"top_p": 1.5}), 400, "top_p", ""},
		{"top_logprobs range", "/v1/chat/completions", chat(map[string]any{"logprobs": true, "top_logprobs": 21}), 400, "top_logprobs", ""},
		{"top_logprobs alone", "/v1/chat/completions", chat(map[string]any{"top_logprobs": 2}), 400, "top_logprobs", ""},
		{"max_tokens over limit", "/v1/chat/completions", chat(map[string]any{"max_tokens": 51}), 400, "max_tokens", ""},
		{"max_completion_tokens negative", "/v1/chat/completions", chat(map[string]any{"max_completion_tokens": -1}), 400, "max_completion_tokens", ""},
		{"chat max_tokens 0", "/v1/chat/completions", chat(map[string]any{"max_tokens": 0}), 400, "max_tokens", ""},
		{"stop type", "/v1/chat/completions", chat(map[string]any{"stop": 3}), 400, "stop", ""},
		{"penalty", "/v1/chat/completions", chat(map[string]any{"presence_penalty": 0.5}), 400, "presence_penalty", ""},
		{"tools", "/v1/chat/completions", chat(map[string]any{"tools": []any{map[string]any{"type": "function"}}}), 400, "tools", ""},
		{"stream_options without stream", "/v1/chat/completions", chat(map[string]any{"stream_options": map[string]any{"include_usage": true}}), 400, "stream_options", ""},
		{"wrong model", "/v1/chat/completions", chat(map[string]any{"model": "gpt-4o"}), 404, "model", "model_not_found"},
		{"context too long", "/v1/chat/completions", map[string]any{"messages": []any{map[string]any{"role": "user", "content": long[:1000]}}}, 400, "messages", "context_length_exceeded"},
		{"prompt plus max_tokens too long", "/v1/completions", map[string]any{"prompt": long[:300], "max_tokens": 50}, 400, "prompt", "context_length_exceeded"},
		{"body too large", "/v1/completions", map[string]any{"prompt": long + long + long + long}, 413, "", "request_too_large"},
		{"no prompt", "/v1/completions", map[string]any{"max_tokens": 3}, 400, "prompt", ""},
		{"empty prompt", "/v1/completions", map[string]any{"prompt": ""}, 400, "prompt", ""},
		{"max_tokens 0 without echo", "/v1/completions", map[string]any{"prompt": "hi", "max_tokens": 0}, 400, "max_tokens", ""},
		{"logprobs range", "/v1/completions", map[string]any{"prompt": "hi", "logprobs": 21}, 400, "logprobs", ""},
		{"token id out of range", "/v1/completions", map[string]any{"prompt": []int{1, 99999}}, 400, "prompt", ""},
		{"prompt type", "/v1/completions", map[string]any{"prompt": map[string]any{}}, 400, "prompt", ""},
		{"too many choices", "/v1/completions", map[string]any{"prompt": make([]string, 70), "n": 4}, 400, "prompt", ""},
		{"suffix", "/v1/completions", map[string]any{"prompt": "hi", "suffix": "x"}, 400, "suffix", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, raw := f.post(t, c.path, c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, raw)
			}
			var e errReply
			if err := json.Unmarshal(raw, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("not an OpenAI error body: %s", raw)
			}
			if got := deref(e.Error.Param); got != c.param {
				t.Errorf("param %q, want %q (%s)", got, c.param, e.Error.Message)
			}
			if c.code != "" && deref(e.Error.Code) != c.code {
				t.Errorf("code %q, want %q", deref(e.Error.Code), c.code)
			}
		})
	}
	// Unknown routes and methods are errors in the same shape.
	for _, c := range []struct{ method, path string }{{"GET", "/v1/chat/completions"}, {"POST", "/v1/embeddings"}} {
		req, _ := http.NewRequest(c.method, f.ts.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 && resp.StatusCode != 405 {
			t.Errorf("%s %s: status %d", c.method, c.path, resp.StatusCode)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestAPIKey: with a key, every /v1 route needs it; /health does not.
func TestAPIKey(t *testing.T) {
	f := newFixture(t, Config{APIKey: "sk-test-123"})
	for _, c := range []struct {
		name, auth string
		status     int
	}{
		{"right key", "Bearer sk-test-123", 200},
		{"wrong key", "Bearer sk-test-124", 401},
		{"no key", "", 401},
		{"bare key", "sk-test-123", 401},
		{"prefix of key", "Bearer sk-test-12", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/v1/models", "/v1/chat/completions", "/v1/completions"} {
				method, body := "POST", `{"prompt":"hi","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`
				if path == "/v1/models" {
					method, body = "GET", ""
				}
				if path == "/v1/chat/completions" {
					body = `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`
				}
				if path == "/v1/completions" {
					body = `{"prompt":"hi","max_tokens":2}`
				}
				req, _ := http.NewRequest(method, f.ts.URL+path, strings.NewReader(body))
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var e errReply
				_ = json.NewDecoder(resp.Body).Decode(&e)
				resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Errorf("%s: status %d, want %d", path, resp.StatusCode, c.status)
				}
				if c.status == 401 && (deref(e.Error.Code) != "invalid_api_key" || strings.Contains(e.Error.Message, "sk-test")) {
					t.Errorf("%s: error %+v", path, e.Error)
				}
			}
		})
	}
	resp, err := http.Get(f.ts.URL + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("health without key: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:80": true, "[::1]:9000": true, "127.0.0.2:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:80": false, "192.168.1.5:80": false, "example.com:80": false, "nonsense": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
