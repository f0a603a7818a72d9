// Package tokenizer is byte-level BPE as GPT-2 and Hugging Face `tokenizers`
// do it: train a vocabulary, encode, decode, and read and write the
// `tokenizer.json` / `tokenizer_config.json` pair that transformers loads.
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
// Chat formatting renders the model's own Jinja chat_template (with
// github.com/ardanlabs/jinja), or a built-in ChatML or Llama-3 template, the
// same way for training, serving and auditing; EncodeChat also returns the
// assistant-token mask used as the SFT loss mask.
package tokenizer
