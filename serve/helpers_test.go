package serve

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// testCorpus trains the tests' tokenizer: a few sentences, so that merges
// exist and chat text takes several tokens.
var testCorpus = []string{
	"the quick brown fox jumps over the lazy dog",
	"what is two plus two? two plus two is four.",
	"hello there, how are you today? I am fine, thank you.",
	"a model answers the question it is asked, no more and no less.",
	"naïve café — ünïcödé text stays exact 🙂",
}

var (
	tokOnce sync.Once
	tokMemo *tokenizer.Tokenizer
	tokErr  error
)

// testTokenizer trains (once) a small byte-level BPE with ChatML specials.
func testTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tokOnce.Do(func() {
		tokMemo, tokErr = tokenizer.Train(testCorpus, tokenizer.TrainConfig{
			VocabSize: 320, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
		})
	})
	if tokErr != nil {
		t.Fatal(tokErr)
	}
	return tokMemo
}

// testModel is a tiny random Llama (grouped-query attention) over tok's
// vocabulary, padded as real checkpoints pad theirs.
func testModel(t testing.TB, tok *tokenizer.Tokenizer, maxSeq int) *model.Model {
	t.Helper()
	m, err := model.New(model.LlamaConfig(tok.VocabSize()+5, maxSeq, 2, 4, 2, 32, 64), 11)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fixture is a running test server.
type fixture struct {
	s   *Server
	m   *model.Model
	tok *tokenizer.Tokenizer
	ts  *httptest.Server
	key string
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	return newFixtureTok(t, cfg, testTokenizer(t))
}

// newFixtureTok serves a tiny random model over tok.
func newFixtureTok(t testing.TB, cfg Config, tok *tokenizer.Tokenizer) *fixture {
	t.Helper()
	m := testModel(t, tok, 128)
	if cfg.ModelName == "" {
		cfg.ModelName = "tiny"
	}
	s, err := New(m, tok, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return &fixture{s: s, m: m, tok: tok, ts: ts, key: cfg.APIKey}
}

// post sends body as JSON and returns the status and raw response.
func (f *fixture) post(t testing.TB, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(http.MethodPost, f.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if f.key != "" {
		req.Header.Set("Authorization", "Bearer "+f.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// postOK posts and decodes a 200 reply into v.
func (f *fixture) postOK(t testing.TB, path string, body, v any) {
	t.Helper()
	code, raw := f.post(t, path, body)
	if code != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", path, code, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("POST %s: %v in %s", path, err, raw)
	}
}

// sseEvents splits a stream body into its data payloads.
func sseEvents(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("stream line %q is not a data event", line)
		}
		out = append(out, data)
	}
	return out
}

func mustUnmarshal(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
}

// Reply shapes as clients decode them.
type chatReply struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Delta struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		Logprobs *struct {
			Content []struct {
				Token       string  `json:"token"`
				Logprob     float64 `json:"logprob"`
				Bytes       []int   `json:"bytes"`
				TopLogprobs []struct {
					Token   string  `json:"token"`
					Logprob float64 `json:"logprob"`
				} `json:"top_logprobs"`
			} `json:"content"`
		} `json:"logprobs"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

type complReply struct {
	Object  string `json:"object"`
	Choices []struct {
		Text     string `json:"text"`
		Index    int    `json:"index"`
		Logprobs *struct {
			Tokens        []string             `json:"tokens"`
			TokenLogprobs []*float64           `json:"token_logprobs"`
			TopLogprobs   []map[string]float64 `json:"top_logprobs"`
			TextOffset    []int                `json:"text_offset"`
		} `json:"logprobs"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

type errReply struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}
