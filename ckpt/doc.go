// Package ckpt reads and writes checkpoint files: safetensors (the Hugging
// Face tensor format) today, with Hugging Face config.json naming and GGUF
// export to follow.
//
// Reading is general: Open validates a safetensors header (offsets inside
// the file, no overlaps, sizes that match shapes, known dtypes) and hands
// back named tensors, converting F32, F16, BF16 and F64 to float32 as they
// are read, straight into the caller's buffer. Writing produces F32 files
// atomically (temporary file, fsync, rename), so a crash never leaves a
// half-written checkpoint under the final name.
package ckpt
