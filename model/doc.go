// Package model is alignlab's decoder-only transformer engine: one Config
// for the GPT-2 family (LayerNorm, learned positions, GELU, tied embeddings,
// biases) and the Llama family (RMSNorm, RoPE, SwiGLU, grouped-query
// attention, untied head), with explicit per-layer forward and backward
// passes, masked cross-entropy, sequence log-probs, TransformerLens-named
// hook points and KV-cache generation.
//
// Parameters live in one flat allocation (Params) with named views, in the
// style of llm.c, so optimizers, checkpoints and gradient checks all work on
// the same buffer. Activations for a batch shape are laid out once
// (activations.go) and reused, so a training step allocates nothing after
// the first.
//
// Each layer kind has its forward and backward side by side in one file:
// embedding.go, norm.go, linear.go, rope.go, attention.go, mlp.go,
// residual.go and classifier.go (the LM head fused with softmax
// cross-entropy). forward.go, backward.go and loss.go string them together;
// hooks.go holds the hook points. A training step is
//
//	m.ZeroGrad()
//	loss, err := m.Loss(tokens, targets, mask, B, T)
//	err = m.Backward() // adds ∂loss/∂θ to m.Grads
//
// followed by an optimizer step on m.Params.Data and m.Grads.Data (see
// package train).
package model
