// Package ckpt reads and writes safetensors files, the Hugging Face tensor
// format. The Hugging Face naming and config.json mapping live in ckpt/hf;
// GGUF (llama.cpp's format) lives in ckpt/gguf.
//
// Reading is general: Open validates a safetensors header (offsets inside
// the file, no overlaps, sizes that match shapes, known dtypes), memory-maps
// the file, and hands back named tensors, converting F32, F16, BF16 and F64
// to float32 as they are read, straight into the caller's buffer, optionally
// transposed. Pages already converted are released as the read goes on, so
// loading a model takes about the memory of its float32 weights. OpenDir
// reads a checkpoint directory, single-file or sharded
// (model.safetensors.index.json), as one set of tensors.
//
// Writing produces F32 files atomically (temporary file, fsync, rename), so
// a crash never leaves a half-written checkpoint under the final name;
// WriteSources produces tensors one at a time, for layouts that differ from
// the one in memory.
package ckpt
