// Package tensor holds the float32 kernels the transformer engine runs on:
// matrix multiplication (the one hot spot), softmax, layer and RMS norms,
// GELU and SiLU activations, and a small goroutine worker pool.
//
// Buffers are plain row-major []float32 slices with their sizes passed
// explicitly, in the style of llm.c: nothing here allocates on the hot path.
// Backward kernels accumulate (+=) into their gradient outputs, so callers
// zero gradients once per step and several consumers of one activation can
// add their contributions.
package tensor
