// Package serve is an OpenAI-compatible HTTP server over one local model:
// GET /v1/models, POST /v1/chat/completions (streamed as server-sent events
// or not) and POST /v1/completions (with echo and per-token log-probs of the
// prompt, for log-likelihood scoring).
//
// Requests are batched continuously: one scheduler goroutine owns the model
// and a KV cache with a fixed number of sequence slots; each decode step
// advances every running sequence at once, new requests join as slots
// free, and a client that disconnects frees its slot. Each choice samples
// with its own seeded sampler, so a request with a seed gets the same
// tokens whether it runs alone or beside others.
//
// Chat messages are rendered with the tokenizer's chat template, as training
// and auditing render them.
package serve
