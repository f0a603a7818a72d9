// Package hf loads and saves Hugging Face checkpoints (config.json,
// model.safetensors or its shards, tokenizer.json) for the GPT-2 and Llama
// families, and exports Llama-family models to GGUF for llama.cpp.
//
// # Loading
//
// Load maps config.json onto model.Config (model_type gpt2, llama, qwen2 or
// mistral) and every tensor onto the engine's single parameter buffer:
// GPT-2's Conv1D matrices ([in, out]) are transposed into our [out, in];
// Llama's q/k/v projections are stacked into the fused QKV matrix without
// any permutation, because the engine's RoPE is Hugging Face's rotate_half
// form; gate and up stack into the SwiGLU input matrix. Qwen2's q/k/v
// biases load into the engine's biases, with the others left at zero, which
// is exact. float16 and bfloat16 weights are widened to float32 as they are
// read from the memory-mapped file. What the engine cannot compute exactly
// (rope_scaling, another activation, head_dim != hidden/heads, sliding
// windows beyond the context, quantized weights) is an error naming it.
//
// # Saving
//
// Save writes the same layout back, in float32 with the Hugging Face names
// transformers expects (GPT2LMHeadModel, LlamaForCausalLM), plus
// generation_config.json and the tokenizer, so that from_pretrained in
// transformers and TRL loads the directory.
//
// # GGUF
//
// ExportGGUF writes a Llama-family model and its tokenizer as GGUF v3 (f32
// or f16) under llama.cpp's names (token_embd, blk.N.attn_q, ...). Like
// llama.cpp's convert_hf_to_gguf.py it permutes the rows of the q and k
// projections (and their biases) within each head from the rotate_half
// order to the interleaved order ggml's RoPE uses, keeps norms in f32, and
// records a byte-level tokenizer as a "gpt2" BPE vocabulary with its merges
// and pre-tokenizer name, and a SentencePiece-style one (Llama-2, TinyLlama)
// as a "llama" vocabulary with scores from the merge ranks and byte,
// control and unknown token types; one llama.cpp would split differently
// (Metaspace pre-tokenizer, merges not derived from SentencePiece scores) is
// refused with the reason.
//
// The GGUF export is checked against llama.cpp itself by a test that runs
// only when LLAMA_SERVER names a llama-server binary built from llama.cpp
// (cmake -B build && cmake --build build --target llama-server). The test
// trains a tokenizer and a small Llama briefly, exports it as f32 and f16,
// starts llama-server on each file, sends a fixed prompt as token ids to
// /completion with greedy sampling (temperature 0, top_k 1) and compares
// the returned token ids with the engine's greedy Generate on the same ids;
// it also compares llama.cpp's /tokenize with the tokenizer's Encode.
package hf
