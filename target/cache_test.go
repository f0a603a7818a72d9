package target

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type mapCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *mapCache) GetCached(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[key]
	return b, ok, nil
}

func (c *mapCache) PutCached(_ context.Context, key string, b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = b
	return nil
}

type countTarget struct{ calls int }

func (c *countTarget) Name() string { return "count#m" }
func (c *countTarget) Chat(_ context.Context, req Request) (*Response, error) {
	c.calls++
	return &Response{Choices: []string{req.Messages[0].Content}}, nil
}

func TestCacheKeyDistinguishes(t *testing.T) {
	base := Request{Messages: []Message{{Role: "user", Content: "q"}}, Params: Params{Seed: 1, HasSeed: true}}
	k := CacheKey("a#m", base)
	variants := []struct {
		name string
		tgt  string
		req  Request
	}{
		{"target", "b#m", base},
		{"model", "a#m2", base},
		{"message", "a#m", Request{Messages: []Message{{Role: "user", Content: "q2"}}, Params: base.Params}},
		{"role", "a#m", Request{Messages: []Message{{Role: "system", Content: "q"}}, Params: base.Params}},
		{"seed", "a#m", Request{Messages: base.Messages, Params: Params{Seed: 2, HasSeed: true}}},
		{"temperature", "a#m", Request{Messages: base.Messages, Params: Params{Seed: 1, HasSeed: true, Temperature: 1}}},
	}
	for _, v := range variants {
		if CacheKey(v.tgt, v.req) == k {
			t.Errorf("%s does not change the key", v.name)
		}
	}
	if CacheKey("a#m", base) != k {
		t.Error("key not deterministic")
	}
}

func TestCachedServesRepeats(t *testing.T) {
	inner := &countTarget{}
	ct := Cached(inner, &mapCache{m: map[string][]byte{}})
	req := Request{Messages: []Message{{Role: "user", Content: "q"}}}
	for range 3 {
		r, err := ct.Chat(context.Background(), req)
		if err != nil || r.Choices[0] != "q" {
			t.Fatal(r, err)
		}
	}
	if inner.calls != 1 {
		t.Errorf("inner called %d times, want 1", inner.calls)
	}
}

func TestAnswerLogProb(t *testing.T) {
	// The server tokenises on spaces and gives each token log-prob -0.5,
	// reporting character offsets as the OpenAI API does.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/completions" {
			w.WriteHeader(404)
			return
		}
		var body struct {
			Prompt string `json:"prompt"`
			Echo   bool   `json:"echo"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		var toks []string
		var lps []float64
		var offs []int
		off := 0
		for _, f := range strings.SplitAfter(body.Prompt, " ") {
			toks, lps, offs = append(toks, f), append(lps, -0.5), append(offs, len([]rune(body.Prompt[:off])))
			off += len(f)
		}
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{
			"text": body.Prompt, "logprobs": map[string]any{"tokens": toks, "token_logprobs": lps, "text_offset": offs}}}})
	}))
	defer srv.Close()
	h, _ := NewHTTP(fastCfg(srv.URL))
	lp, n, err := h.AnswerLogProb(context.Background(), []Message{{Role: "user", Content: "2+2?"}}, "four is it")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || math.Abs(lp+1.5) > 1e-9 {
		t.Errorf("logprob %v over %d tokens, want -1.5 over 3", lp, n)
	}
}

func TestAnswerLogProbUnsupported(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(404)
	}))
	defer srv.Close()
	h, _ := NewHTTP(fastCfg(srv.URL))
	for range 3 {
		_, _, err := h.AnswerLogProb(context.Background(), []Message{{Role: "user", Content: "q"}}, "a")
		if err == nil || !strings.Contains(err.Error(), ErrLogProbsUnsupported.Error()) {
			t.Fatalf("err = %v", err)
		}
	}
	if calls != 1 {
		t.Errorf("server asked %d times; unsupported should be remembered", calls)
	}
}
