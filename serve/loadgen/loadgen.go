// Package loadgen drives an OpenAI-compatible server with concurrent
// clients and measures what it delivers: completion tokens per second,
// request latency and errors. `alignlab bench serve` runs it against
// `alignlab serve` to check that batching works (16 clients against one)
// and that a long overload stays error-free with bounded memory.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options describe one load phase.
type Options struct {
	// URL is the server's base, e.g. http://127.0.0.1:8080/v1.
	URL, Model, APIKey string
	// Clients each send one request at a time, back to back, for Duration.
	Clients  int
	Duration time.Duration
	// MaxTokens is generated per request (ignore_eos, so exactly that many).
	MaxTokens int
	// Prompt is the user message; client i sends it with seed Seed+i·k.
	Prompt string
	Seed   int64
}

// Result is what one phase measured.
type Result struct {
	Clients          int     `json:"clients"`
	Seconds          float64 `json:"seconds"`
	Requests         int     `json:"requests"`
	Errors           int     `json:"errors"`
	FirstError       string  `json:"first_error,omitempty"`
	CompletionTokens int     `json:"completion_tokens"`
	TokensPerSec     float64 `json:"tokens_per_sec"`
	LatencyP50MS     float64 `json:"latency_p50_ms"`
	LatencyP99MS     float64 `json:"latency_p99_ms"`
	// FirstTokenP50MS is the median time to the first generated token.
	FirstTokenP50MS float64 `json:"first_token_p50_ms"`
	// ServerCPUSeconds is the CPU time the server process spent in the
	// phase (when known), and TokensPerCPUSec the tokens per such second:
	// on a shared machine it moves less than wall-clock throughput.
	ServerCPUSeconds float64 `json:"server_cpu_seconds,omitempty"`
	TokensPerCPUSec  float64 `json:"tokens_per_server_cpu_sec,omitempty"`
}

// Run drives the server with o.Clients streaming chat clients for
// o.Duration. Requests still running at the deadline finish and count
// (tokens per second divide by the time until the last one ended).
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Clients < 1 || o.Duration <= 0 || o.MaxTokens < 1 {
		return Result{}, errors.New("loadgen: need clients >= 1, a duration and max tokens >= 1")
	}
	tr := &http.Transport{MaxIdleConns: o.Clients * 2, MaxIdleConnsPerHost: o.Clients * 2}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var (
		mu        sync.Mutex
		res       = Result{Clients: o.Clients}
		latencies []float64
		firsts    []float64
		wg        sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(o.Duration)
	for c := range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every client sends at least one request, however late it
			// starts.
			for k := 0; k == 0 || time.Now().Before(deadline) && ctx.Err() == nil; k++ {
				t0 := time.Now()
				toks, first, err := chat(ctx, client, o, o.Seed+int64(c)*1_000_003+int64(k))
				mu.Lock()
				res.Requests++
				if err != nil {
					res.Errors++
					if res.FirstError == "" {
						res.FirstError = err.Error()
					}
				} else {
					res.CompletionTokens += toks
					latencies = append(latencies, float64(time.Since(t0).Microseconds())/1000)
					firsts = append(firsts, float64(first.Microseconds())/1000)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.TokensPerSec = float64(res.CompletionTokens) / res.Seconds
	res.LatencyP50MS, res.LatencyP99MS = quantile(latencies, 0.5), quantile(latencies, 0.99)
	res.FirstTokenP50MS = quantile(firsts, 0.5)
	return res, ctx.Err()
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[min(len(v)-1, int(q*float64(len(v))))]
}

// chat sends one streaming chat request and returns the completion tokens
// the server counted and the time to the first content chunk.
func chat(ctx context.Context, client *http.Client, o Options, seed int64) (int, time.Duration, error) {
	body, _ := json.Marshal(map[string]any{
		"model": o.Model, "messages": []map[string]string{{"role": "user", "content": o.Prompt}},
		"max_tokens": o.MaxTokens, "temperature": 1, "seed": seed, "ignore_eos": true,
		"stream": true, "stream_options": map[string]bool{"include_usage": true},
		// Log-probs make every token show as a chunk, so the time to the
		// first token is seen even when its text is empty or held back.
		"logprobs": true,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(o.URL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if o.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.APIKey)
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var first time.Duration
	tokens, done := -1, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			break
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
				Logprobs *struct {
					Content []json.RawMessage `json:"content"`
				} `json:"logprobs"`
			} `json:"choices"`
			Usage *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return 0, 0, fmt.Errorf("bad chunk %q: %w", data, err)
		}
		if chunk.Error != nil {
			return 0, 0, fmt.Errorf("stream error: %s", chunk.Error.Message)
		}
		if first == 0 && len(chunk.Choices) > 0 && chunk.Choices[0].Logprobs != nil && len(chunk.Choices[0].Logprobs.Content) > 0 {
			first = time.Since(t0)
		}
		if chunk.Usage != nil {
			tokens = chunk.Usage.CompletionTokens
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read stream: %w", err)
	}
	if !done || tokens < 0 {
		return 0, 0, errors.New("stream ended without usage and [DONE]")
	}
	if first == 0 {
		return 0, 0, errors.New("stream carried no token")
	}
	if tokens != o.MaxTokens {
		return 0, 0, fmt.Errorf("got %d completion tokens, asked for %d (ignore_eos)", tokens, o.MaxTokens)
	}
	return tokens, first, nil
}
