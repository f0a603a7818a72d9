// Package gguf writes and reads GGUF, the file format of llama.cpp and
// ggml: a versioned header, typed metadata key-values (hyperparameters,
// the tokenizer) and tensors at aligned offsets.
//
// The package knows the format only; which keys and tensor names a model
// needs is the exporter's business (ckpt/hf's ExportGGUF for the Llama
// family). Writer produces GGUF v3 with F32 and F16 tensors, 32-byte
// alignment by default. Parse and Open read any GGUF v2/v3 header and
// F32/F16/BF16 tensor data, validating as strictly as ggml's gguf.cpp, so a
// corrupt file is an error, never a panic or a huge allocation.
//
// Shapes are given in row-major (PyTorch) order, outermost first; the file
// stores them reversed, innermost first, as ggml's ne does, so a PyTorch
// [out, in] weight appears in llama.cpp as ne = {in, out}.
package gguf
