package hf

// The acceptance check for GGUF export: llama.cpp loads the file and, on a
// fixed prompt, its greedy tokens equal ours. It needs a llama-server
// binary built from llama.cpp and runs only when LLAMA_SERVER names it (see
// the package doc).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alignlab/alignlab/ckpt/gguf"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// trainingText is a corpus with enough structure for a tiny model to learn
// confident continuations in a few hundred steps.
var trainingText = []string{
	"one two three four five six seven eight nine ten eleven twelve.",
	"monday tuesday wednesday thursday friday saturday sunday.",
	"january february march april may june july august september october november december.",
	"the cat sat on the mat. the dog sat on the log. the bird sat on the wire.",
	"red orange yellow green blue indigo violet.",
	"a b c d e f g h i j k l m n o p q r s t u v w x y z.",
}

// trainedLlama trains a tokenizer and a small Llama (grouped-query
// attention, untied head) on trainingText with Adam for a few hundred
// steps, deterministically.
func trainedLlama(t *testing.T) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	tok, err := tokenizer.Train(trainingText, tokenizer.TrainConfig{VocabSize: 320, Special: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	eos, _ := tok.EOS()
	var stream []int32
	for range 4 {
		for _, s := range trainingText {
			stream = append(stream, tok.Encode(" "+s)...)
			stream = append(stream, eos)
		}
	}
	cfg := model.LlamaConfig(tok.VocabSize(), 64, 2, 4, 2, 64, 128)
	m, err := model.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	const B, T, steps = 8, 32, 300
	const lr, b1, b2, eps = 3e-3, 0.9, 0.99, 1e-8
	mom, vel := make([]float32, len(m.Params.Data)), make([]float32, len(m.Params.Data))
	tokens, targets := make([]int32, B*T), make([]int32, B*T)
	var loss float32
	for step := 1; step <= steps; step++ {
		for b := range B {
			start := (step*B + b) * 7 % (len(stream) - T - 1)
			copy(tokens[b*T:], stream[start:start+T])
			copy(targets[b*T:], stream[start+1:start+T+1])
		}
		m.ZeroGrad()
		if loss, err = m.Loss(tokens, targets, nil, B, T); err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
		c1, c2 := 1-math.Pow(b1, float64(step)), 1-math.Pow(b2, float64(step))
		for i, g := range m.Grads.Data {
			mom[i] = b1*mom[i] + (1-b1)*g
			vel[i] = b2*vel[i] + (1-b2)*g*g
			m.Params.Data[i] -= float32(lr * float64(mom[i]) / c1 / (math.Sqrt(float64(vel[i])/c2) + eps))
		}
	}
	t.Logf("trained %d steps, final loss %.3f", steps, loss)
	return m, tok
}

// llamaServer runs llama-server on a GGUF file until the test ends.
type llamaServer struct {
	url string
}

func startLlamaServer(t *testing.T, bin, modelPath string) *llamaServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logBuf bytes.Buffer
	cmd := exec.Command(bin, "-m", modelPath, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"-c", "256", "-np", "1", "-t", "2", "--no-warmup")
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("llama-server log:\n%s", logBuf.String())
		}
	})
	s := &llamaServer{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("llama-server did not become healthy on %s; log:\n%s", modelPath, logBuf.String())
	return nil
}

func (s *llamaServer) post(t *testing.T, path string, req, resp any) {
	t.Helper()
	body, _ := json.Marshal(req)
	r, err := http.Post(s.url+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	raw := new(bytes.Buffer)
	raw.ReadFrom(r.Body)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s: %s", path, r.Status, raw)
	}
	if err := json.Unmarshal(raw.Bytes(), resp); err != nil {
		t.Fatalf("%s: %v in %s", path, err, raw)
	}
}

// TestLlamaCppGreedy exports a trained model as f32 and f16, runs
// llama.cpp's greedy decoding on a fixed prompt given as token ids, and
// compares its tokens with the engine's greedy Generate (on weights rounded
// to f16 for the f16 file). It also compares llama.cpp's tokenization of a
// text with ours.
func TestLlamaCppGreedy(t *testing.T) {
	bin := os.Getenv("LLAMA_SERVER")
	if bin == "" {
		t.Skip("set LLAMA_SERVER to a llama-server binary built from llama.cpp to run this check")
	}
	m, tok := trainedLlama(t)
	const nNew = 24
	prompts := []string{" one two three", " the cat sat", " monday tuesday", " red orange", " violet cat eleven", " sunday dog z"}
	eos, _ := tok.EOS()
	for _, typ := range []gguf.TensorType{gguf.F32, gguf.F16} {
		t.Run(typ.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.gguf")
			if err := ExportGGUF(path, m, tok, GGUFOptions{Type: typ}); err != nil {
				t.Fatal(err)
			}
			ours := m
			if typ == gguf.F16 {
				// llama.cpp computes with the f16 weights; compare with the
				// same weights (norms stay f32 in the file and here).
				p, _ := model.NewParams(m.Config)
				copy(p.Data, m.Params.Data)
				for _, tt := range p.Tensors {
					if len(tt.Shape) == 2 {
						for i, v := range tt.Data {
							tt.Data[i] = gguf.F16ToF32(gguf.F32ToF16(v))
						}
					}
				}
				ours, _ = model.FromParams(m.Config, p)
			}
			srv := startLlamaServer(t, bin, path)
			text := " the cat sat on the mat, monday 12 tuesday!"
			var tz struct {
				Tokens []int32 `json:"tokens"`
			}
			srv.post(t, "/tokenize", map[string]any{"content": text}, &tz)
			if want := tok.Encode(text); !slices.Equal(tz.Tokens, want) {
				t.Errorf("llama.cpp tokenizes %q as %v, we do as %v", text, tz.Tokens, want)
			}
			for _, prompt := range prompts {
				ids := tok.Encode(prompt)
				gen, err := ours.Generate([][]int32{ids}, model.GenerateConfig{MaxNewTokens: nNew, StopTokens: []int32{eos}})
				if err != nil {
					t.Fatal(err)
				}
				want := gen[0].Tokens
				if gen[0].Stopped {
					want = want[:len(want)-1] // llama.cpp does not return the end-of-generation token
				}
				var resp struct {
					Tokens []int32 `json:"tokens"`
				}
				srv.post(t, "/completion", map[string]any{
					"prompt": ids, "n_predict": nNew, "temperature": 0, "top_k": 1,
					"samplers": []string{"top_k", "temperature"}, "repeat_penalty": 1.0,
					"cache_prompt": false, "return_tokens": true,
				}, &resp)
				got := resp.Tokens
				if len(got) > 0 && got[len(got)-1] == eos {
					got = got[:len(got)-1]
				}
				if !slices.Equal(got, want) {
					first := 0
					for first < min(len(got), len(want)) && got[first] == want[first] {
						first++
					}
					t.Errorf("prompt %q %v: llama.cpp greedy %v (%q), ours %v (%q): first mismatch at new token %d",
						prompt, ids, got, tok.Decode(got), want, tok.Decode(want), first)
					continue
				}
				t.Logf("prompt %q: %d greedy tokens match: %q", prompt, len(want), strings.TrimSpace(tok.Decode(want)))
			}
		})
	}
}

// TestLlamaCppSentencePiece exports a model with a SentencePiece-style
// tokenizer (Llama-2's legacy tokenizer.json form) and checks that
// llama.cpp's "llama" tokenizer, reading the exported vocabulary, splits
// texts as ours does: words, runs of spaces, byte-fallback characters,
// special tokens inside the text. Then its greedy tokens on a random model
// must equal ours.
func TestLlamaCppSentencePiece(t *testing.T) {
	bin := os.Getenv("LLAMA_SERVER")
	if bin == "" {
		t.Skip("set LLAMA_SERVER to a llama-server binary built from llama.cpp to run this check")
	}
	tok, err := tokenizer.ParseJSON([]byte(llama2TokenizerJSON(llama2Normalizer, "null")))
	if err != nil {
		t.Fatal(err)
	}
	m := randomModel(t, model.LlamaConfig(tok.VocabSize(), 64, 2, 4, 2, 32, 64), 3)
	path := filepath.Join(t.TempDir(), "spm.gguf")
	if err := ExportGGUF(path, m, tok, GGUFOptions{}); err != nil {
		t.Fatal(err)
	}
	srv := startLlamaServer(t, bin, path)
	for _, text := range []string{"Hello world", "Hello  world", " Hello", "Hello world\n", "héllo wörld 😀",
		"Hello</s> world", "<s>Hello", "dow lo", "world world world", "\t\tworld", ""} {
		var tz struct {
			Tokens []int32 `json:"tokens"`
		}
		srv.post(t, "/tokenize", map[string]any{"content": text}, &tz)
		if want := tok.Encode(text); !slices.Equal(tz.Tokens, want) && !(len(tz.Tokens) == 0 && len(want) == 0) {
			t.Errorf("llama.cpp tokenizes %q as %v, we do as %v", text, tz.Tokens, want)
		}
	}
	ids := tok.EncodeWithSpecialTokens("Hello world")
	gen, err := m.Generate([][]int32{ids}, model.GenerateConfig{MaxNewTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Tokens []int32 `json:"tokens"`
	}
	srv.post(t, "/completion", map[string]any{
		"prompt": ids, "n_predict": 12, "temperature": 0, "top_k": 1,
		"samplers": []string{"top_k", "temperature"}, "repeat_penalty": 1.0,
		"cache_prompt": false, "return_tokens": true, "ignore_eos": true,
	}, &resp)
	if !slices.Equal(resp.Tokens, gen[0].Tokens) {
		t.Errorf("greedy from %v: llama.cpp %v, ours %v", ids, resp.Tokens, gen[0].Tokens)
	}
}
