// POST /v1/completions: plain prompts (strings or token ids), with echo and
// per-token log-probs of the prompt itself, which log-likelihood scoring
// (lm-evaluation-harness, alignlab's own audit) depends on.

package serve

import (
	"context"
	"net/http"
	"time"
)

// complJob is a validated completions request: one entry per prompt.
type complJob struct {
	p       genParams
	prompts [][]int32
	texts   []string // the prompts as echoed
	// hidden counts each prompt's leading tokens that the echoed text
	// does not show (a BOS the tokenizer adds).
	hidden   []int
	maxNew   []int
	echo     bool
	logprobs bool
	top      int
}

func (s *Server) parseCompletion(req *completionRequest) (*complJob, error) {
	p, err := s.parseSampling(&req.samplingFields, req.MaxTokens, "max_tokens")
	if err != nil {
		return nil, err
	}
	if req.BestOf != nil && *req.BestOf != 1 && *req.BestOf != p.n {
		return nil, badRequest("best_of", "'best_of' other than n is not supported by this server")
	}
	if present(req.Suffix) {
		return nil, badRequest("suffix", "'suffix' (insertion) is not supported by this server")
	}
	j := &complJob{p: p, echo: req.Echo}
	if lp := req.Logprobs; lp != nil {
		if *lp < 0 || *lp > maxTopLogprobs {
			return nil, badRequest("logprobs", "%d is not in [0, %d] - 'logprobs'", *lp, maxTopLogprobs)
		}
		j.logprobs, j.top = true, *lp
	}
	if !req.Prompt.set || req.Prompt.len() == 0 {
		return nil, badRequest("prompt", "'prompt' is required")
	}
	if n := req.Prompt.len() * p.n; n > s.cfg.MaxChoices {
		return nil, badRequest("prompt", "%d prompts × n=%d = %d choices exceed this server's limit of %d per request", req.Prompt.len(), p.n, n, s.cfg.MaxChoices)
	}
	V := int32(s.m.Config.VocabSize)
	for _, t := range req.Prompt.texts {
		// As transformers' tokenizer(prompt) and vLLM do: the
		// post-processor's leading tokens (Llama-3's BOS) come first.
		pre := s.tok.SpecialPrefix()
		j.prompts = append(j.prompts, append(pre, s.tok.Encode(t)...))
		j.texts = append(j.texts, t)
		j.hidden = append(j.hidden, len(pre))
	}
	for i, ids := range req.Prompt.tokens {
		for _, id := range ids {
			if id < 0 || id >= V {
				return nil, badRequest("prompt", "prompt %d: token id %d is outside the vocabulary [0, %d)", i, id, V)
			}
		}
		j.prompts = append(j.prompts, ids)
		j.texts = append(j.texts, s.tok.Decode(ids))
		j.hidden = append(j.hidden, 0)
	}
	for _, ids := range j.prompts {
		// OpenAI's default for completions is 16 tokens.
		n, err := s.budget(p, len(ids), 16, "prompt", req.Echo)
		if err != nil {
			return nil, err
		}
		j.maxNew = append(j.maxNew, n)
	}
	return j, nil
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if err := s.readBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	j, err := s.parseCompletion(&req)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var seqs []*seqRequest
	for i, prompt := range j.prompts {
		// Echoing log-probs (or scoring alone, max_tokens 0) needs the
		// prompt's logits; plain echo only needs its text.
		scoring := j.echo && (j.logprobs || j.maxNew[i] == 0)
		seqs = append(seqs, s.seqs(prompt, j.p, j.maxNew[i], j.logprobs, j.top, scoring)...)
	}
	ru, err := s.start(ctx, seqs, j.p.stop, s.stopTokens(j.p))
	if err != nil {
		writeError(w, err)
		return
	}
	head := completion{ID: newID("cmpl-"), Object: "text_completion", Created: time.Now().Unix(), Model: s.cfg.ModelName, SystemFingerprint: "alignlab"}
	builders := make([]*complLogprobsBuilder, len(ru.choices))
	for i := range builders {
		builders[i] = s.newComplLogprobs(j.top)
	}
	if j.p.stream {
		s.streamCompletions(ctx, w, ru, j, head, builders)
		return
	}
	if err := collectAll(ctx, ru); err != nil {
		if ctx.Err() == nil {
			writeError(w, err)
		}
		return
	}
	resp := head
	for i, c := range ru.choices {
		prompt := i / j.p.n
		text := string(c.text)
		if j.echo {
			text = j.texts[prompt] + text
		}
		ch := complChoice{Text: text, Index: i, FinishReason: ptr(c.finish)}
		if j.logprobs {
			b := builders[i]
			s.addPromptLogprobs(b, j, prompt, c)
			s.addTokenLogprobs(b, c, c.kept(0, len(c.tokens)))
			ch.Logprobs = b.take()
		}
		resp.Choices = append(resp.Choices, ch)
	}
	resp.Usage = j.usage(ru)
	writeJSON(w, resp)
}

// addPromptLogprobs adds the echoed prompt's tokens to b (nothing without
// echo): the first without a log-prob, each later one with the log-prob
// the model gave it after the tokens before it.
func (s *Server) addPromptLogprobs(b *complLogprobsBuilder, j *complJob, prompt int, c *choiceState) {
	if !j.echo {
		return
	}
	ids := j.prompts[prompt]
	pieces := s.promptPieces(ids, j.hidden[prompt], j.texts[prompt])
	for k, id := range ids {
		var lp promptLogprob
		if k < len(c.prompt) {
			lp = c.prompt[k]
		}
		b.add(id, pieces[k], lp.logprob, lp.has, lp.top)
	}
}

// addTokenLogprobs adds generated tokens idx of c to b.
func (s *Server) addTokenLogprobs(b *complLogprobsBuilder, c *choiceState, idx []int) {
	for _, i := range idx {
		b.add(c.tokens[i], s.pieceText(c.tokens[i]), c.lps[i], true, c.tops[i])
	}
}

// usage counts each prompt once and every sampled token.
func (j *complJob) usage(ru *run) *usage {
	var u usage
	for _, p := range j.prompts {
		u.PromptTokens += len(p)
	}
	for _, c := range ru.choices {
		u.CompletionTokens += len(c.tokens)
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return &u
}

// streamCompletions sends text chunks as they become final (the echoed
// prompt first), a finish chunk per choice, the usage chunk if asked for,
// and [DONE].
func (s *Server) streamCompletions(ctx context.Context, w http.ResponseWriter, ru *run, j *complJob, head completion, builders []*complLogprobsBuilder) {
	out := newSSE(w)
	chunk := func(ch complChoice) any {
		c := head
		c.Choices = []complChoice{ch}
		if j.p.includeUsage {
			return complUsageChunk{completion: c}
		}
		return c
	}
	echoed := make([]bool, len(ru.choices))
	reported := make([]bool, len(ru.choices))
	for ru.remaining > 0 && out.err == nil {
		changed, err := ru.wait(ctx)
		if err != nil {
			return
		}
		for _, i := range changed {
			c := ru.choices[i]
			if c.err != nil {
				out.fail(c.err)
				return
			}
			prompt := i / j.p.n
			var text string
			if j.echo && !echoed[i] && (c.prompt != nil || !ru.choices[i].req.promptLogprobs) {
				echoed[i] = true
				text = j.texts[prompt]
				if j.logprobs {
					s.addPromptLogprobs(builders[i], j, prompt, c)
				}
			}
			end := ru.ready(c)
			toks := c.streamable(end)
			text += string(c.text[c.sent:end])
			c.sent = end
			if text != "" || len(toks) > 0 {
				ch := complChoice{Text: text, Index: i}
				if j.logprobs {
					s.addTokenLogprobs(builders[i], c, toks)
					ch.Logprobs = builders[i].take()
				}
				out.send(chunk(ch))
			}
			if c.done && !reported[i] {
				reported[i] = true
				out.send(chunk(complChoice{Index: i, FinishReason: ptr(c.finish)}))
			}
		}
	}
	if out.err != nil {
		return
	}
	if j.p.includeUsage {
		c := head
		c.Choices = []complChoice{}
		out.send(complUsageChunk{completion: c, Usage: j.usage(ru)})
	}
	out.done()
}
