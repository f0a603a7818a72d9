package tokenizer

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
)

// Tokenizer is a BPE tokenizer, byte-level (GPT-2, Llama-3, Qwen2) or
// SentencePiece-style with byte fallback (Llama-2, Mistral-7B v0.1), with
// added/special tokens, BOS/EOS/PAD and a chat template. Encoding and
// decoding are safe for concurrent use; the setters (SetChatTemplate) are
// not.
type Tokenizer struct {
	model *bpeModel

	added    []AddedToken     // sorted by id
	addedIdx map[int32]int32  // id -> index into added
	byText   map[string]int32 // added token content -> id
	trieRaw  *trie            // tokens matched on the raw input (all of them without a normalizer)
	trieNorm *trie            // normalized tokens, matched after normalization

	norm normalizer   // nil: none
	meta *metaspace   // the Metaspace pre-tokenizer's rewriting; nil: none
	pre  preTokenizer // never nil
	dec  spmDecoder   // the decoder chain of a byte_fallback model; nil: bytes are joined

	text    []string // id -> what the token decodes to (bytes; see TokenText)
	special []bool   // id -> is a special added token

	bos, eos, pad, unk int32 // -1 when unset
	prefix, suffix     []int32
	genEOS             []int32 // eos ids of generation_config.json

	chat chatState

	// The sections of tokenizer.json this package does not interpret beyond
	// what encoding needs are kept as loaded and written back by Save.
	rawNormalizer, rawPreTokenizer, rawPostProcessor, rawDecoder json.RawMessage
	rawTruncation, rawPadding                                    json.RawMessage
	modelExtra                                                   modelExtra
	config                                                       map[string]json.RawMessage // tokenizer_config.json as loaded
}

// modelExtra holds BPE model fields that Save writes back unchanged.
type modelExtra struct {
	dropout                 json.RawMessage
	unkToken                *string
	continuingSubwordPrefix *string
	endOfWordSuffix         *string
}

// build derives the lookup tables from model and added tokens. It is the one
// place that sizes per-id tables, after the ids have been bounds-checked.
func (t *Tokenizer) build() error {
	n := len(t.model.vocab)
	for _, a := range t.added {
		if int(a.ID) >= n {
			n = int(a.ID) + 1
		}
	}
	t.text = make([]string, n)
	t.special = make([]bool, n)
	copy(t.text, t.model.raw)
	if t.dec != nil {
		for id, s := range t.model.vocab {
			if s != "" {
				t.text[id] = t.dec.tokenText(s)
			}
		}
	}
	t.addedIdx = make(map[int32]int32, len(t.added))
	t.byText = make(map[string]int32, len(t.added))
	t.trieRaw, t.trieNorm = newTrie(), nil
	if t.norm != nil {
		t.trieNorm = newTrie()
	}
	for k, a := range t.added {
		if a.ID < 0 {
			return fmt.Errorf("added token %q has negative id %d", a.Content, a.ID)
		}
		if a.Content == "" {
			return fmt.Errorf("added token %d has empty content", a.ID)
		}
		if _, dup := t.addedIdx[a.ID]; dup {
			return fmt.Errorf("two added tokens have id %d", a.ID)
		}
		t.addedIdx[a.ID] = int32(k)
		if _, dup := t.byText[a.Content]; !dup {
			t.byText[a.Content] = a.ID
		}
		t.text[a.ID] = a.Content
		t.special[a.ID] = a.Special
		if a.Normalized && t.norm != nil {
			content, _ := t.norm.normalize(a.Content, false)
			t.trieNorm.insert(content, int32(k))
		} else {
			t.trieRaw.insert(a.Content, int32(k))
		}
		// A special token's text must not come back from ignore_merges'
		// whole-piece lookup when special tokens are encoded as plain text.
		if a.Special {
			if id, ok := t.model.rawIDs[a.Content]; ok && id == a.ID {
				delete(t.model.rawIDs, a.Content)
			}
		}
	}
	t.model.cache.clear()
	t.model.cache.seed = maphash.MakeSeed()
	return nil
}

// VocabSize is the number of ids, added tokens included: one more than the
// largest id (the rows an embedding matrix needs).
func (t *Tokenizer) VocabSize() int { return len(t.text) }

// TokenID returns the id of a token given as its vocabulary string (byte-level
// form, e.g. "Ġthe") or as an added token's content (e.g. "<|im_end|>").
func (t *Tokenizer) TokenID(s string) (int32, bool) {
	if id, ok := t.byText[s]; ok {
		return id, true
	}
	id, ok := t.model.ids[s]
	return id, ok
}

// Token returns the string of id: its vocabulary string (byte-level form)
// or, for an added token, its content.
func (t *Tokenizer) Token(id int32) (string, bool) {
	if k, ok := t.addedIdx[id]; ok {
		return t.added[k].Content, true
	}
	if id < 0 || int(id) >= len(t.model.vocab) || t.model.vocab[id] == "" {
		return "", false
	}
	return t.model.vocab[id], true
}

// Vocab returns every token string by id, for GGUF export. An id that names
// no token (a hole in the ids) gets "[PAD<id>]", as llama.cpp's converter writes.
func (t *Tokenizer) Vocab() []string {
	out := make([]string, len(t.text))
	for i := range out {
		s, ok := t.Token(int32(i))
		if !ok {
			s = fmt.Sprintf("[PAD%d]", i)
		}
		out[i] = s
	}
	return out
}

// Merges returns the merges in rank order as "a b" (byte-level strings), for GGUF export.
func (t *Tokenizer) Merges() []string {
	out := make([]string, len(t.model.mergePairs))
	for k, p := range t.model.mergePairs {
		out[k] = t.model.vocab[p[0]] + " " + t.model.vocab[p[1]]
	}
	return out
}

// AddedTokens returns the added tokens (special and not), by id.
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// IsSpecial reports whether id is a special added token (<|endoftext|>, <|im_end|>, ...).
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.special) && t.special[id]
}

// IsAdded reports whether id is an added token, special or not.
func (t *Tokenizer) IsAdded(id int32) bool {
	_, ok := t.addedIdx[id]
	return ok
}

func optID(id int32) (int32, bool) { return id, id >= 0 }

// ByteFallback reports whether the tokenizer is SentencePiece-style BPE
// ("byte_fallback": true: characters as symbols, <0xXX> tokens for the
// bytes of characters outside the vocabulary) rather than byte-level BPE.
func (t *Tokenizer) ByteFallback() bool { return t.model.byteFallback }

// UNK returns the unknown token, when the tokenizer has one.
func (t *Tokenizer) UNK() (int32, bool) { return optID(t.unk) }

// MergeIDs returns the merges in rank order as the ids of the left token,
// the right token and the token they make.
func (t *Tokenizer) MergeIDs() [][3]int32 {
	out := make([][3]int32, len(t.model.mergePairs))
	for k, p := range t.model.mergePairs {
		out[k] = [3]int32{p[0], p[1], t.model.merges[pairKey(p[0], p[1])].id}
	}
	return out
}

// BOS returns the beginning-of-sequence token, when the tokenizer has one.
func (t *Tokenizer) BOS() (int32, bool) { return optID(t.bos) }

// EOS returns the end-of-sequence token, when the tokenizer has one.
func (t *Tokenizer) EOS() (int32, bool) { return optID(t.eos) }

// PAD returns the padding token, when the tokenizer has one.
func (t *Tokenizer) PAD() (int32, bool) { return optID(t.pad) }

// endOfTurnTokens are the tokens chat templates end a turn with.
var endOfTurnTokens = []string{
	"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|endoftext|>",
	"<|end|>", "<end_of_turn>", "</s>",
}

// StopTokens returns the ids that end generation: EOS, the eos ids of
// generation_config.json, and the end-of-turn tokens of chat templates that
// the tokenizer has as special tokens (<|im_end|>, <|eot_id|>, ...). EOS is first.
func (t *Tokenizer) StopTokens() []int32 {
	var out []int32
	seen := map[int32]bool{}
	add := func(id int32) {
		if id >= 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	add(t.eos)
	for _, id := range t.genEOS {
		add(id)
	}
	for _, s := range endOfTurnTokens {
		if id, ok := t.byText[s]; ok && t.IsSpecial(id) {
			add(id)
		}
	}
	return out
}

// SpecialPrefix and SpecialSuffix are the ids EncodeWithSpecialTokens puts
// around the text: from the tokenizer.json post_processor (TemplateProcessing;
// Llama-3 puts <|begin_of_text|> first), overridden by add_bos_token /
// add_eos_token of tokenizer_config.json when those are set.
func (t *Tokenizer) SpecialPrefix() []int32 { return append([]int32(nil), t.prefix...) }

// SpecialSuffix: see SpecialPrefix.
func (t *Tokenizer) SpecialSuffix() []int32 { return append([]int32(nil), t.suffix...) }
