// Package model is alignlab's decoder-only transformer engine: one Config
// for the GPT-2 family (LayerNorm, learned positions, GELU, tied embeddings,
// biases) and the Llama family (RMSNorm, RoPE, SwiGLU, grouped-query
// attention, untied head), with explicit per-layer forward and backward
// passes, masked cross-entropy, sequence log-probs, TransformerLens-named
// hook points and KV-cache generation.
//
// Parameters live in one flat allocation (Params) with named views, in the
// style of llm.c, so optimizers, checkpoints and gradient checks all work on
// the same buffer.
package model
