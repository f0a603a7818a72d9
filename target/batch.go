package target

import "context"

// Batcher is offered by targets that answer many requests at once faster
// than one at a time: a local model reads its weights once per decoding
// step for the whole batch. ChatBatch returns one response per request, in
// order, each as Chat would have answered that request alone (its own
// parameters and seed). It is safe for concurrent use.
type Batcher interface {
	ChatBatch(ctx context.Context, reqs []Request) ([]*Response, error)
}

// AnswerRequest is one answer to score: msgs, then answer as the
// assistant's reply (LogProber's arguments).
type AnswerRequest struct {
	Messages []Message
	Answer   string
}

// BatchLogProber scores many answers at once; result i is what
// AnswerLogProb returns for request i.
type BatchLogProber interface {
	AnswerLogProbs(ctx context.Context, reqs []AnswerRequest) (logprobs []float64, tokens []int, err error)
}
