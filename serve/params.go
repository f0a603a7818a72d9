// Request validation shared by both completion endpoints: every parameter
// is checked against its OpenAI range and the server's limits before
// anything reaches the engine.

package serve

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
)

// Limits the API itself sets (the OpenAI values, or vLLM's where larger).
const (
	maxTopLogprobs = 20
	maxStopStrings = 16
	maxStopLen     = 256
)

// genParams are one request's validated sampling parameters.
type genParams struct {
	temperature  float32
	topP         float32
	topK         int
	maxTokens    int // -1: not given
	seed         int64
	stop         []string
	n            int
	stream       bool
	includeUsage bool
	ignoreEOS    bool
}

// parseSampling checks the fields both endpoints share. maxTokens is the
// endpoint's max_tokens (chat also accepts max_completion_tokens).
func (s *Server) parseSampling(f *samplingFields, maxTokens *int, maxParam string) (genParams, error) {
	p := genParams{temperature: 1, topP: 1, maxTokens: -1, n: 1, stream: f.Stream, ignoreEOS: f.IgnoreEOS}
	if f.Model != "" && f.Model != s.cfg.ModelName {
		return p, &apiError{status: http.StatusNotFound, typ: "invalid_request_error", param: "model", code: "model_not_found",
			message: fmt.Sprintf("the model %q does not exist; this server serves %q (see GET /v1/models)", f.Model, s.cfg.ModelName)}
	}
	if t := f.Temperature; t != nil {
		if !(*t >= 0 && *t <= 2) {
			return p, badRequest("temperature", "%g is not in [0, 2] - 'temperature'", *t)
		}
		p.temperature = float32(*t)
	}
	if t := f.TopP; t != nil {
		if !(*t >= 0 && *t <= 1) {
			return p, badRequest("top_p", "%g is not in [0, 1] - 'top_p'", *t)
		}
		p.topP = float32(*t)
		if *t == 0 {
			p.temperature = 0 // the smallest nucleus is the top token
		}
	}
	if k := f.TopK; k != nil {
		if *k < -1 {
			return p, badRequest("top_k", "%d is not -1 (off), 0 (off) or positive - 'top_k'", *k)
		}
		p.topK = max(*k, 0)
	}
	if m := maxTokens; m != nil {
		if *m < 0 {
			return p, badRequest(maxParam, "%d is less than the minimum of 0 - '%s'", *m, maxParam)
		}
		if *m > s.cfg.MaxTokensLimit {
			return p, badRequest(maxParam, "%d is greater than this server's limit of %d - '%s'", *m, s.cfg.MaxTokensLimit, maxParam)
		}
		p.maxTokens = *m
	}
	if f.N != nil {
		if *f.N < 1 || *f.N > s.cfg.MaxN {
			return p, badRequest("n", "%d is not in [1, %d] - 'n'", *f.N, s.cfg.MaxN)
		}
		p.n = *f.N
	}
	if f.Seed != nil {
		p.seed = *f.Seed
	} else {
		p.seed = rand.Int64()
	}
	if len(f.Stop) > maxStopStrings {
		return p, badRequest("stop", "%d stop strings given; at most %d are allowed", len(f.Stop), maxStopStrings)
	}
	for _, st := range f.Stop {
		if len(st) > maxStopLen {
			return p, badRequest("stop", "a stop string of %d bytes exceeds the limit of %d", len(st), maxStopLen)
		}
		if st != "" {
			p.stop = append(p.stop, st)
		}
	}
	if f.StreamOptions != nil {
		if !f.Stream {
			return p, badRequest("stream_options", "'stream_options' is only allowed when 'stream' is true")
		}
		p.includeUsage = f.StreamOptions.IncludeUsage
	}
	for _, pen := range []struct {
		name string
		v    *float64
	}{{"presence_penalty", f.PresencePenalty}, {"frequency_penalty", f.FrequencyPenalty}} {
		if pen.v != nil && *pen.v != 0 {
			return p, badRequest(pen.name, "'%s' is not supported by this server; leave it out or set it to 0", pen.name)
		}
	}
	if len(f.LogitBias) > 0 {
		return p, badRequest("logit_bias", "'logit_bias' is not supported by this server")
	}
	return p, nil
}

// stopTokens are the tokens that end a sequence for p.
func (s *Server) stopTokens(p genParams) []int32 {
	if p.ignoreEOS {
		return nil
	}
	return s.stops
}

// budget settles how many tokens a prompt of promptLen tokens may
// generate: the requested max_tokens if it fits the context, or (when none
// was given) def capped by what is left. A prompt that leaves no room is a
// context_length_exceeded error naming param.
func (s *Server) budget(p genParams, promptLen, def int, param string, allowZero bool) (int, error) {
	ctx := s.cfg.MaxContext
	tooLong := func(want int) error {
		return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", param: param, code: "context_length_exceeded",
			message: fmt.Sprintf("this model's maximum context length is %d tokens; however, you requested %d tokens (%d in the %s, %d for the completion); please reduce the length of the %s or of the completion",
				ctx, promptLen+want, promptLen, param, want, param)}
	}
	if promptLen == 0 {
		return 0, badRequest(param, "the %s is empty after tokenization; send at least one token", param)
	}
	if p.maxTokens == 0 && !allowZero {
		return 0, badRequest("max_tokens", "max_tokens must be at least 1 here (0 is only allowed with echo on /v1/completions)")
	}
	if p.maxTokens >= 0 {
		if promptLen+p.maxTokens > ctx {
			return 0, tooLong(p.maxTokens)
		}
		return p.maxTokens, nil
	}
	left := ctx - promptLen
	if left < 1 {
		return 0, tooLong(1)
	}
	return min(def, left, s.cfg.MaxTokensLimit), nil
}

// safeLogprob makes a log-prob JSON-encodable: -Inf (and NaN) become
// -9999, the floor the OpenAI API reports.
func safeLogprob(v float32) float64 {
	f := float64(v)
	if math.IsNaN(f) || f < -9999 {
		return -9999
	}
	return f
}
