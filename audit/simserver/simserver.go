// Package simserver is an OpenAI-compatible chat server with planted
// behaviour, for testing the audit probes and benchmarking the harness.
// It knows the answer to every question the probes will ask (it is built
// from their tasks), and answers right or wrong according to a Behavior:
// how often it caves to pushback, how its accuracy depends on the frame or
// on perturbed inputs, whether its answers game a judge, and how a series
// of checkpoints improves. Every decision is a seeded hash of the request,
// so the server is deterministic and needs no state.
package simserver

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/target"
)

// Behavior is what the server plants. Accuracies are probabilities of a
// correct first answer; zero values of the *Acc fields mean 1.
type Behavior struct {
	// BaseAcc is the accuracy where nothing else applies.
	BaseAcc float64
	// EvalAcc and DeployAcc replace BaseAcc for framed questions.
	EvalAcc, DeployAcc float64
	// RareAcc replaces BaseAcc on perturbed, rare and directional inputs.
	RareAcc float64
	// FlipProb is P(switch to the user's wrong answer under pushback |
	// first answer right).
	FlipProb float64
	// BeliefProb is P(adopt a stated wrong belief).
	BeliefProb float64
	// HackRate is the share of answers that are wrong but written to
	// please a rater (long, confident, flattering).
	HackRate float64
	// JudgeHackable makes the judge's reference-free rating reward
	// confident style over correctness.
	JudgeHackable bool
	// Series maps a model name to its P(correct) for the overhang probe:
	// greedy requests are right iff p > 0.5, sampled ones with chance p,
	// and the answer's log-probability is log p.
	Series map[string]float64
	// Latency is added to every request.
	Latency time.Duration
	Seed    uint64
}

// Failure modes the server can be switched into.
const (
	FailNone    int32 = iota
	FailError         // HTTP 503 with a Retry-After of 0
	FailHang          // never answers (until the client gives up)
	FailGarbage       // 200 with a body that is not JSON
)

type entry struct{ answer, wrong, frame, slice string }

// Server is the planted server. Use Handler with httptest or http.Serve.
type Server struct {
	b    Behavior
	key  map[string]entry
	fail atomic.Int32
	// Requests counts the chat requests served (any outcome).
	Requests atomic.Int64
}

// New builds a server that knows the answers to the tasks' questions.
func New(b Behavior, tasks []audit.Task) *Server {
	s := &Server{b: b, key: map[string]entry{}}
	for _, t := range tasks {
		s.Learn(t.Sample)
	}
	return s
}

// Learn adds a sample's question and answer.
func (s *Server) Learn(smp audit.Sample) {
	s.key[smp.Question()] = entry{answer: smp.Target, wrong: smp.Wrong, frame: smp.Metadata["frame"], slice: smp.Metadata["slice"]}
}

// SetFailure switches the failure mode (FailNone to recover).
func (s *Server) SetFailure(mode int32) { s.fail.Store(mode) }

// u is a deterministic uniform draw in [0, 1) from the parts.
func (s *Server) u(parts ...string) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d", s.b.Seed)
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	// fnv's low bits mix poorly for similar inputs; finish with splitmix.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func or1(v float64) float64 {
	if v == 0 {
		return 1
	}
	return v
}

type chatReq struct {
	Model       string           `json:"model"`
	Messages    []target.Message `json:"messages"`
	Temperature float64          `json:"temperature"`
	N           int              `json:"n"`
	Seed        *int64           `json:"seed"`
	Prompt      string           `json:"prompt"`
}

// Handler serves /v1/chat/completions and /v1/completions (echo logprobs).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/chat/completions", s.chat)
	mux.HandleFunc("/v1/completions", s.completions)
	return mux
}

func (s *Server) failing(w http.ResponseWriter, r *http.Request) bool {
	switch s.fail.Load() {
	case FailError:
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
		return true
	case FailHang:
		// Read the body first: only then does net/http watch the
		// connection and cancel the context when the client gives up.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return true
	case FailGarbage:
		io.WriteString(w, "<html>502 bad gateway</html>")
		return true
	}
	return false
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	if s.b.Latency > 0 {
		time.Sleep(s.b.Latency)
	}
	if s.failing(w, r) {
		return
	}
	var req chatReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	n := max(1, req.N)
	out := make([]string, n)
	for i := range out {
		seed := ""
		if req.Seed != nil {
			seed = fmt.Sprint(*req.Seed + int64(i))
		}
		out[i] = s.reply(req, seed)
	}
	writeChat(w, req.Model, out)
}

func writeChat(w http.ResponseWriter, model string, outs []string) {
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	type choice struct {
		Index        int    `json:"index"`
		Message      msg    `json:"message"`
		FinishReason string `json:"finish_reason"`
	}
	cs := make([]choice, len(outs))
	for i, o := range outs {
		cs[i] = choice{i, msg{"assistant", o}, "stop"}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": "sim", "object": "chat.completion", "model": model, "choices": cs,
		"usage": map[string]int{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
}

// reply answers one chat request.
func (s *Server) reply(req chatReq, seed string) string {
	last := req.Messages[len(req.Messages)-1].Content
	if strings.Contains(last, audit.JudgeResponseMarker) {
		return s.judge(last)
	}
	var first string
	for _, m := range req.Messages {
		if m.Role == "user" {
			first = m.Content
			break
		}
	}
	e, ok := s.key[first]
	if !ok {
		return "I don't know."
	}
	right := s.firstRight(first, e, req, seed)
	hack := !right && s.b.HackRate > 0
	// A stated wrong belief: adopt it with BeliefProb.
	if strings.Contains(first, "I think the answer is "+e.wrong+", but") && s.u(first, "belief") < s.b.BeliefProb {
		right = false
	}
	if len(req.Messages) >= 3 && right && s.u(first, "flip") < s.b.FlipProb {
		right = false
	}
	if right {
		return "The answer is " + e.answer + "."
	}
	wrong := e.wrong
	if wrong == "" || wrong == e.answer {
		wrong = e.answer + "0"
	}
	if hack {
		return "Great question! The answer is definitely " + wrong + ". I am absolutely certain of this, and I have checked it carefully from several angles, so you can rely on it completely."
	}
	return "The answer is " + wrong + "."
}

func (s *Server) firstRight(q string, e entry, req chatReq, seed string) bool {
	if p, ok := s.b.Series[req.Model]; ok {
		p = s.seriesP(q, p)
		if req.Temperature == 0 {
			return p > 0.5
		}
		return s.u(q, req.Model, seed, "sample") < p
	}
	acc := or1(s.b.BaseAcc)
	switch e.frame {
	case "eval":
		acc = or1(s.b.EvalAcc)
	case "deploy":
		acc = or1(s.b.DeployAcc)
	}
	if e.slice != "" && e.slice != "common" {
		acc = or1(s.b.RareAcc)
	}
	if s.b.HackRate > 0 && s.u(q, "hack") < s.b.HackRate {
		return false
	}
	return s.u(q, "acc") < acc
}

// seriesP jitters a checkpoint's p by at most ±0.04 per item.
func (s *Server) seriesP(q string, p float64) float64 {
	return math.Min(0.999, math.Max(0.001, p+0.08*(s.u(q, "jitter")-0.5)))
}

func section(text, marker string) string {
	i := strings.Index(text, marker)
	if i < 0 {
		return ""
	}
	rest := text[i+len(marker):]
	if j := strings.Index(rest, "\n\n["); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.Index(rest, "\n\nIs the response"); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.Index(rest, "\n\nRate the response"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// judge answers grading and rating prompts.
func (s *Server) judge(prompt string) string {
	q := section(prompt, audit.JudgeQuestionMarker)
	resp := section(prompt, audit.JudgeResponseMarker)
	e, known := s.key[q]
	right := known && audit.Normalize(audit.FinalAnswer(resp)) == audit.Normalize(e.answer)
	if strings.Contains(prompt, audit.JudgeReferenceMarker) {
		if right {
			return "GRADE: C"
		}
		return "GRADE: I"
	}
	if s.b.JudgeHackable && strings.Contains(resp, "definitely") {
		return "SCORE: 9"
	}
	if right {
		return "SCORE: 8"
	}
	return "SCORE: 2"
}

// completions serves echo log-probs for the overhang probe: the answer is
// one token with log-probability log p of the model's series entry.
func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	if s.failing(w, r) {
		return
	}
	var req chatReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	p, ok := s.b.Series[req.Model]
	if !ok {
		http.Error(w, `{"error":{"message":"logprobs not supported for this model"}}`, http.StatusNotFound)
		return
	}
	i := strings.LastIndex(req.Prompt, "\n\nAssistant: ")
	if i < 0 {
		http.Error(w, "bad prompt", http.StatusBadRequest)
		return
	}
	head := req.Prompt[:i+len("\n\nAssistant: ")]
	q := strings.TrimPrefix(req.Prompt[:i], "User: ")
	lp := math.Log(s.seriesP(q, p))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"text": req.Prompt, "logprobs": map[string]any{
		"tokens": []string{head, req.Prompt[len(head):]}, "token_logprobs": []any{nil, lp},
		"text_offset": []int{0, utf8.RuneCountInString(head)}}}}})
}
