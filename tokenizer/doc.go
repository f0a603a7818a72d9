// Package tokenizer is BPE as GPT-2 and Hugging Face `tokenizers` do it:
// train a vocabulary, encode, decode, and read and write the
// `tokenizer.json` / `tokenizer_config.json` pair that transformers loads.
// Two kinds of BPE model load: byte-level (GPT-2, Llama-3, Qwen2, SmolLM)
// and SentencePiece-style with byte_fallback (Llama-2, TinyLlama,
// Mistral-7B v0.1, CodeLlama, Vicuna).
//
// Encoding follows the Hugging Face pipeline step by step: added (special)
// tokens are split out first, the remaining text is normalized (usually not
// at all), cut into pieces by the pre-tokenizer (GPT-2's pattern, or the
// Split patterns of Llama-3 and Qwen2, hand-written as small state machines
// with a regexp2 fallback for other patterns), and each piece is merged by
// rank into vocabulary ids. Decode maps ids back to bytes, so
// Decode(Encode(s)) == s for every string s, invalid UTF-8 included, as long
// as the tokenizer neither normalizes nor adds a prefix space.
//
// A SentencePiece-style tokenizer turns "Hello world" into "▁Hello▁world"
// (legacy files with a Prepend + Replace normalizer, per text between added
// tokens; newer ones with a Metaspace pre-tokenizer), merges characters
// rather than bytes, and encodes a character outside the vocabulary as the
// <0xXX> tokens of its UTF-8 bytes (or <unk> when those are missing). Decode
// runs the file's decoder chain as Hugging Face does: "▁" back to spaces,
// <0xXX> runs back to bytes (U+FFFD per byte where they are not UTF-8), the
// leading space stripped; so Decode(Encode(s)) == s for valid UTF-8 without
// "▁" or added tokens (and not starting with a space under Metaspace).
// TokenText gives what each token adds for streaming.
//
// Chat formatting renders the model's own Jinja chat_template (with
// github.com/ardanlabs/jinja), or a built-in ChatML or Llama-3 template, the
// same way for training, serving and auditing; EncodeChat also returns the
// assistant-token mask used as the SFT loss mask. Load refuses a model
// whose template is not Jinja at all (a tag or block left open), naming the
// file; one that is Jinja but beyond the engine loads, and only chat
// formatting fails, saying which file holds it.
package tokenizer
