// The OpenAI wire format: request and response bodies of /v1/models,
// /v1/chat/completions and /v1/completions, including the fields that take
// more than one JSON type (stop, prompt, message content).

package serve

import (
	"bytes"
	"encoding/json"
)

// samplingFields are shared by both completion endpoints. Pointers tell an
// absent field from a zero one.
type samplingFields struct {
	Model         string         `json:"model"`
	Temperature   *float64       `json:"temperature"`
	TopP          *float64       `json:"top_p"`
	TopK          *int           `json:"top_k"` // vLLM extension; -1 or 0 = off
	MaxTokens     *int           `json:"max_tokens"`
	Seed          *int64         `json:"seed"`
	Stop          stopList       `json:"stop"`
	N             *int           `json:"n"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options"`
	IgnoreEOS     bool           `json:"ignore_eos"` // vLLM extension, for benchmarks

	// Accepted only at their neutral values: anything else would be
	// silently ignored, which is worse than an error.
	PresencePenalty  *float64           `json:"presence_penalty"`
	FrequencyPenalty *float64           `json:"frequency_penalty"`
	LogitBias        map[string]float64 `json:"logit_bias"`

	// Accepted and ignored: they do not change the output.
	User        json.RawMessage `json:"user"`
	Metadata    json.RawMessage `json:"metadata"`
	Store       json.RawMessage `json:"store"`
	ServiceTier json.RawMessage `json:"service_tier"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	samplingFields
	Messages            []chatMessage   `json:"messages"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Logprobs            *bool           `json:"logprobs"`
	TopLogprobs         *int            `json:"top_logprobs"`
	ResponseFormat      *responseFormat `json:"response_format"`
	// Tool calling is not offered; a request that needs it is refused.
	Tools             json.RawMessage `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	Functions         json.RawMessage `json:"functions"`
	FunctionCall      json.RawMessage `json:"function_call"`
	ParallelToolCalls json.RawMessage `json:"parallel_tool_calls"`
}

type responseFormat struct {
	Type       string          `json:"type"`
	JSONSchema json.RawMessage `json:"json_schema"`
}

// chatMessage is one input message. Content is a string or a list of text
// parts; assistant messages echoed back from a response may carry null
// content, refusal and annotations.
type chatMessage struct {
	Role        string          `json:"role"`
	Content     messageContent  `json:"content"`
	Name        string          `json:"name"`
	Refusal     json.RawMessage `json:"refusal"`
	Annotations json.RawMessage `json:"annotations"`
	Audio       json.RawMessage `json:"audio"`
	ToolCalls   json.RawMessage `json:"tool_calls"`
	// FunctionCall is the deprecated form of ToolCalls; openai-python's
	// model_dump() of a reply still sends it, as null.
	FunctionCall json.RawMessage `json:"function_call"`
}

// messageContent is a message's text, from a JSON string, null, or an
// array of {"type":"text","text":...} parts (joined with newlines).
type messageContent string

func (c *messageContent) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*c = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = messageContent(s)
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return badRequest("messages", "message content must be a string or a list of text parts")
	}
	var buf bytes.Buffer
	for i, p := range parts {
		if p.Type != "text" {
			return badRequest("messages", "content part of type %q is not supported: this server reads text only", p.Type)
		}
		if i > 0 {
			buf.WriteByte('\n')
		}
		buf.WriteString(p.Text)
	}
	*c = messageContent(buf.String())
	return nil
}

// stopList is "stop": a string, a list of strings, or null.
type stopList []string

func (s *stopList) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return badRequest("stop", "'stop' must be a string or a list of strings")
	}
	*s = many
	return nil
}

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	samplingFields
	Prompt promptList `json:"prompt"`
	Echo   bool       `json:"echo"`
	// Logprobs is the number of alternatives per position (0 gives just
	// the chosen token's log-prob); absent or null gives none.
	Logprobs *int            `json:"logprobs"`
	BestOf   *int            `json:"best_of"`
	Suffix   json.RawMessage `json:"suffix"`
}

// promptList is "prompt": a string, a list of strings, a list of token
// ids, or a list of lists of token ids (as lm-evaluation-harness sends).
type promptList struct {
	texts  []string
	tokens [][]int32
	set    bool
}

func (p *promptList) len() int { return len(p.texts) + len(p.tokens) }

func (p *promptList) UnmarshalJSON(b []byte) error {
	p.set = true
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		p.texts = []string{one}
		return nil
	}
	var texts []string
	if err := json.Unmarshal(b, &texts); err == nil {
		p.texts = texts
		return nil
	}
	var ids []int32
	if err := json.Unmarshal(b, &ids); err == nil {
		p.tokens = [][]int32{ids}
		return nil
	}
	var idLists [][]int32
	if err := json.Unmarshal(b, &idLists); err == nil {
		p.tokens = idLists
		return nil
	}
	return badRequest("prompt", "'prompt' must be a string, a list of strings, a list of token ids or a list of such lists")
}

// usage counts tokens for a response (the prompt once per prompt, every
// sampled token of every choice).
type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// modelList is the body of GET /v1/models.
type modelList struct {
	Object string      `json:"object"`
	Data   []modelInfo `json:"data"`
}

type modelInfo struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Created     int64  `json:"created"`
	OwnedBy     string `json:"owned_by"`
	MaxModelLen int    `json:"max_model_len"`
}

// Chat responses.
type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             *usage       `json:"usage,omitempty"`
	SystemFingerprint string       `json:"system_fingerprint"`
}

// chatUsageChunk is a chat stream chunk under stream_options.include_usage:
// as OpenAI sends them, every chunk has a "usage" key, null until the
// last chunk, which has the counts and no choices.
type chatUsageChunk struct {
	chatCompletion
	Usage *usage `json:"usage"`
}

type chatChoice struct {
	Index        int           `json:"index"`
	Message      *chatOutMsg   `json:"message,omitempty"`
	Delta        *chatOutMsg   `json:"delta,omitempty"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

type chatOutMsg struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatLogprobs struct {
	Content []chatTokenLogprob `json:"content"`
}

type chatTokenLogprob struct {
	Token       string           `json:"token"`
	Logprob     float64          `json:"logprob"`
	Bytes       []int            `json:"bytes"`
	TopLogprobs []chatTopLogprob `json:"top_logprobs"`
}

type chatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// Completion responses.
type completion struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	Choices           []complChoice `json:"choices"`
	Usage             *usage        `json:"usage,omitempty"`
	SystemFingerprint string        `json:"system_fingerprint"`
}

// complUsageChunk is chatUsageChunk for /v1/completions.
type complUsageChunk struct {
	completion
	Usage *usage `json:"usage"`
}

type complChoice struct {
	Text         string         `json:"text"`
	Index        int            `json:"index"`
	Logprobs     *complLogprobs `json:"logprobs"`
	FinishReason *string        `json:"finish_reason"`
}

// complLogprobs is the legacy log-prob layout: parallel lists, one entry
// per token; the first echoed prompt token has null log-prob and null
// alternatives. Text offsets count characters from the start of the
// choice's text (the prompt's when echoed).
type complLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []*float64           `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// ptr returns a pointer to v, for optional JSON fields.
func ptr[T any](v T) *T { return &v }
