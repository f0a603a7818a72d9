// Package tensor holds the float32 kernels the transformer engine runs on:
// matrix multiplication (the one hot spot), softmax, layer and RMS norms,
// GELU and SiLU activations, dot/axpy for attention, and a small goroutine
// worker pool.
//
// Buffers are plain row-major []float32 slices with their sizes passed
// explicitly, in the style of llm.c: nothing here allocates on the hot path
// (packing buffers are pooled). Backward kernels accumulate (+=) into their
// gradient outputs, so callers zero gradients once per step and several
// consumers of one activation can add their contributions.
//
// # Kernels and dispatch
//
// Gemm is a BLIS-style packed, cache-blocked product: a 6×16 AVX2+FMA
// micro-kernel in assembly (sgemm_amd64.s) over panels packed by assembly
// loops, threaded over Threads() goroutines. Few rows against a transposed
// B (decoding) run as dot products over the rows of B instead. The kernel
// family is chosen once at start-up from the CPU's features
// (golang.org/x/sys/cpu); Kernel reports which. Without AVX2+FMA, on
// other architectures, or with the purego build tag, portable Go kernels
// run (correct everywhere, several times slower). With AVX-512F the
// "avx512" kernel goes first: the same 6×16 tile and packing with a
// 16-wide micro-kernel (sgemm512_amd64.s), a 16-wide outer product for 9
// to 16 decoding rows (gemv16_amd64.s), and the AVX2 loops elsewhere.
//
// PeakGFLOPS measures the machine's FMA peak with an assembly loop, so the
// benchmarks (go test -bench . ./tensor/) report Gemm as a fraction of the
// peak measured in the same run.
package tensor
