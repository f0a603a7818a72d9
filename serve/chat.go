// POST /v1/chat/completions: messages rendered with the tokenizer's chat
// template (the same rendering training and auditing use), then generated
// through the engine, streamed or not.

package serve

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/alignlab/alignlab/tokenizer"
)

// chatJob is a validated chat request.
type chatJob struct {
	p        genParams
	prompt   []int32
	maxNew   int
	logprobs bool
	top      int
}

func (s *Server) parseChat(req *chatRequest) (*chatJob, error) {
	mt, param := req.MaxTokens, "max_tokens"
	if req.MaxCompletionTokens != nil {
		mt, param = req.MaxCompletionTokens, "max_completion_tokens"
	}
	p, err := s.parseSampling(&req.samplingFields, mt, param)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    []byte
	}{{"tools", req.Tools}, {"tool_choice", req.ToolChoice}, {"functions", req.Functions}, {"function_call", req.FunctionCall}} {
		if present(f.v) {
			return nil, badRequest(f.name, "tool and function calling are not supported by this server; leave out '%s'", f.name)
		}
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != "" && rf.Type != "text" {
		return nil, badRequest("response_format", "response_format %q is not supported; only \"text\" is", rf.Type)
	}
	j := &chatJob{p: p}
	if req.Logprobs != nil {
		j.logprobs = *req.Logprobs
	}
	if t := req.TopLogprobs; t != nil {
		if *t < 0 || *t > maxTopLogprobs {
			return nil, badRequest("top_logprobs", "%d is not in [0, %d] - 'top_logprobs'", *t, maxTopLogprobs)
		}
		if !j.logprobs && *t > 0 {
			return nil, badRequest("top_logprobs", "'top_logprobs' needs 'logprobs' set to true")
		}
		j.top = *t
	}
	if len(req.Messages) == 0 {
		return nil, badRequest("messages", "'messages' must hold at least one message")
	}
	msgs := make([]tokenizer.Message, len(req.Messages))
	for i, m := range req.Messages {
		role := m.Role
		switch role {
		case "system", "user", "assistant":
		case "developer":
			role = "system" // OpenAI's newer name for the system role
		case "":
			return nil, badRequest("messages", "message %d has no 'role'", i)
		default:
			return nil, badRequest("messages", "message %d: role %q is not supported (system, developer, user, assistant)", i, m.Role)
		}
		if present(m.ToolCalls) || present(m.FunctionCall) {
			return nil, badRequest("messages", "message %d carries tool_calls or function_call; tool calling is not supported", i)
		}
		msgs[i] = tokenizer.Message{Role: role, Content: string(m.Content)}
	}
	ids, err := s.tok.EncodeChatIDs(msgs, true)
	if err != nil {
		return nil, badRequest("messages", "could not render the messages with the model's chat template: %v", err)
	}
	j.prompt = ids
	if j.maxNew, err = s.budget(p, len(ids), s.cfg.MaxTokensLimit, "messages", false); err != nil {
		return nil, err
	}
	return j, nil
}

// present reports whether an optional raw JSON field holds something
// other than null or an empty list.
func present(v []byte) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && !bytes.Equal(v, []byte("null")) && !bytes.Equal(v, []byte("[]"))
}

// seqs makes one engine sequence per choice; choice j samples with seed+j,
// so a choice's tokens depend only on the prompt, the parameters and its
// seed, never on what else is running.
func (s *Server) seqs(prompt []int32, p genParams, maxNew int, logprobs bool, top int, echo bool) []*seqRequest {
	out := make([]*seqRequest, p.n)
	for j := range out {
		out[j] = &seqRequest{
			prompt: prompt, maxNew: maxNew, temperature: p.temperature, topK: p.topK, topP: p.topP,
			seed: p.seed + int64(j), stopTokens: s.stopTokens(p),
			logprobs: logprobs, topLogprobs: top, promptLogprobs: echo,
		}
		if !logprobs {
			out[j].topLogprobs = 0
		}
	}
	return out
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := s.readBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	j, err := s.parseChat(&req)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel() // frees any slot a choice still holds
	ru, err := s.start(ctx, s.seqs(j.prompt, j.p, j.maxNew, j.logprobs, j.top, false), j.p.stop, s.stopTokens(j.p))
	if err != nil {
		writeError(w, err)
		return
	}
	head := chatCompletion{ID: newID("chatcmpl-"), Created: time.Now().Unix(), Model: s.cfg.ModelName, SystemFingerprint: "alignlab"}
	if j.p.stream {
		s.streamChat(ctx, w, ru, j, head)
		return
	}
	if err := collectAll(ctx, ru); err != nil {
		if ctx.Err() == nil {
			writeError(w, err)
		}
		return
	}
	resp := head
	resp.Object = "chat.completion"
	u := usage{PromptTokens: len(j.prompt)}
	for i, c := range ru.choices {
		text := string(c.text)
		ch := chatChoice{Index: i, Message: &chatOutMsg{Role: "assistant", Content: &text}, FinishReason: ptr(c.finish)}
		if j.logprobs {
			ch.Logprobs = &chatLogprobs{Content: s.chatLogprobs(c, c.kept(0, len(c.tokens)))}
		}
		resp.Choices = append(resp.Choices, ch)
		u.CompletionTokens += len(c.tokens)
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	resp.Usage = &u
	writeJSON(w, resp)
}

// streamChat sends a role chunk per choice, then content deltas as text
// becomes final, a finish chunk per choice, the usage chunk if asked for,
// and [DONE].
func (s *Server) streamChat(ctx context.Context, w http.ResponseWriter, ru *run, j *chatJob, head chatCompletion) {
	out := newSSE(w)
	chunk := func(ch chatChoice) any {
		c := head
		c.Object = "chat.completion.chunk"
		c.Choices = []chatChoice{ch}
		if j.p.includeUsage {
			return chatUsageChunk{chatCompletion: c}
		}
		return c
	}
	empty := ""
	for i := range ru.choices {
		out.send(chunk(chatChoice{Index: i, Delta: &chatOutMsg{Role: "assistant", Content: &empty}}))
	}
	reported := make([]bool, len(ru.choices))
	for ru.remaining > 0 && out.err == nil {
		changed, err := ru.wait(ctx)
		if err != nil {
			return // the client left
		}
		for _, i := range changed {
			c := ru.choices[i]
			if c.err != nil {
				out.fail(c.err)
				return
			}
			end := ru.ready(c)
			toks := c.streamable(end)
			if end > c.sent || len(toks) > 0 {
				text := string(c.text[c.sent:end])
				ch := chatChoice{Index: i, Delta: &chatOutMsg{Content: &text}}
				if j.logprobs {
					ch.Logprobs = &chatLogprobs{Content: s.chatLogprobs(c, toks)}
				}
				out.send(chunk(ch))
				c.sent = end
			}
			if c.done && !reported[i] {
				reported[i] = true
				out.send(chunk(chatChoice{Index: i, Delta: &chatOutMsg{}, FinishReason: ptr(c.finish)}))
			}
		}
	}
	if out.err != nil {
		return
	}
	if j.p.includeUsage {
		u := usage{PromptTokens: len(j.prompt)}
		for _, c := range ru.choices {
			u.CompletionTokens += len(c.tokens)
		}
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
		c := head
		c.Object, c.Choices = "chat.completion.chunk", []chatChoice{}
		out.send(chatUsageChunk{chatCompletion: c, Usage: &u})
	}
	out.done()
}
