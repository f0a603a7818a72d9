package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/serve"
	"github.com/alignlab/alignlab/tokenizer"
)

func TestRun(t *testing.T) {
	tok, err := tokenizer.Train(benchCorpus, tokenizer.TrainConfig{VocabSize: 300, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.LlamaConfig(tok.VocabSize(), 128, 1, 2, 2, 16, 32), 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(m, tok, serve.Config{ModelName: "tiny", MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer func() { ts.Close(); s.Close() }()
	o := Options{URL: ts.URL + "/v1", Model: "tiny", Clients: 4, Duration: 200 * time.Millisecond, MaxTokens: 5, Prompt: "hello"}
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 || r.Requests == 0 || r.CompletionTokens != 5*r.Requests || r.TokensPerSec <= 0 || r.LatencyP50MS <= 0 {
		t.Errorf("result %+v", r)
	}
	// A server that fails is counted, not hidden.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":{"message":"boom"}}`, http.StatusInternalServerError)
	}))
	defer bad.Close()
	o.URL, o.Duration = bad.URL+"/v1", 50*time.Millisecond
	r, err = Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors == 0 || r.Errors != r.Requests || !strings.Contains(r.FirstError, "500") {
		t.Errorf("failing server: %+v", r)
	}
}
