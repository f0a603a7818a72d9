// GGUF export of a SentencePiece-style tokenizer (byte_fallback BPE:
// Llama-2, TinyLlama, Mistral-7B v0.1) as llama.cpp's "llama" (SPM)
// vocabulary, as convert_hf_to_gguf.py writes one from tokenizer.model.
//
// llama.cpp does not read merges for it: it puts " " before every text
// fragment, turns spaces into "▁", and repeatedly joins the adjacent pair
// whose concatenation is the vocabulary token of highest score, falling
// back to <0xXX> tokens for what stays outside the vocabulary. That equals
// Hugging Face's BPE when the merges are the ones convert_slow_tokenizer
// derives from SentencePiece scores: every split of a token into two
// symbols is a merge, and the merges making one token are adjacent in rank.
// Then a token's score is minus the rank of its first merge. A tokenizer
// for which this does not hold is refused, not exported with a vocabulary
// llama.cpp would split differently.

package hf

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/alignlab/alignlab/ckpt/gguf"
	"github.com/alignlab/alignlab/tokenizer"
)

// legacy SentencePiece sections of tokenizer.json, compared after decoding.
const (
	spmNormalizer = `{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]}`
)

// spmVocab is what setMetadata writes for a SentencePiece-style tokenizer.
type spmVocab struct {
	tokens []string
	scores []float32
	types  []int32
}

// sentencePieceVocab checks that llama.cpp's SPM tokenizer splits text as
// tok does and returns the vocabulary padded to size.
func sentencePieceVocab(tok *tokenizer.Tokenizer, size int) (*spmVocab, error) {
	sec, err := tokenizerSections(tok)
	if err != nil {
		return nil, err
	}
	if !sameJSON(sec.Normalizer, spmNormalizer) || !sameJSON(sec.PreTokenizer, "null") {
		return nil, fmt.Errorf("SentencePiece-style tokenizer with normalizer %s and pre_tokenizer %s: llama.cpp's SentencePiece tokenizer matches only the legacy form (normalizer Prepend \"▁\" + Replace \" \" with \"▁\", no pre_tokenizer), which puts \"▁\" before every text between special tokens",
			compact(sec.Normalizer), compact(sec.PreTokenizer))
	}
	vocab := tok.Vocab()
	isByte := make([]bool, len(vocab))
	for b := range 256 {
		id, ok := tok.TokenID(fmt.Sprintf("<0x%02X>", b))
		if !ok {
			return nil, fmt.Errorf("SentencePiece-style tokenizer without the byte token <0x%02X>: llama.cpp falls back to all 256", b)
		}
		isByte[id] = true
	}
	unk, hasUnk := tok.UNK()
	// plain: a token that llama.cpp's pair joining can make or use.
	plain := func(id int32) bool {
		return !isByte[id] && !tok.IsAdded(id) && !(hasUnk && id == unk)
	}
	// first[t] is the rank of the first merge making t; last[t] its last one.
	first, last := map[int32]int{}, map[int32]int{}
	made := map[[2]string]int32{}
	merges := tok.MergeIDs()
	for rank, m := range merges {
		if !plain(m[0]) || !plain(m[1]) {
			return nil, fmt.Errorf("merge %d joins %q and %q: llama.cpp joins only characters and ordinary tokens", rank, vocab[m[0]], vocab[m[1]])
		}
		if f, ok := first[m[2]]; ok && last[m[2]] != rank-1 {
			return nil, fmt.Errorf("the merges making %q are not adjacent in rank (%d and %d): llama.cpp ranks tokens, not pairs", vocab[m[2]], f, rank)
		} else if !ok {
			first[m[2]] = rank
		}
		last[m[2]] = rank
		made[[2]string{vocab[m[0]], vocab[m[1]]}] = m[2]
	}
	// Every split of a token into two symbols llama.cpp may hold (a
	// vocabulary token or a single character) must be a merge making it.
	for id, s := range vocab {
		if id >= len(isByte) || !plain(int32(id)) {
			continue
		}
		for i := range s {
			if i == 0 {
				continue
			}
			a, b := s[:i], s[i:]
			if !symbol(tok, a) || !symbol(tok, b) {
				continue
			}
			if got, ok := made[[2]string{a, b}]; !ok || got != int32(id) {
				return nil, fmt.Errorf("token %q splits into %q and %q but no merge makes it from them: llama.cpp would join them anyway", s, a, b)
			}
		}
	}
	v := &spmVocab{tokens: vocab, scores: make([]float32, size), types: make([]int32, size)}
	for id := range size {
		switch {
		case id >= len(vocab):
			v.tokens = append(v.tokens, fmt.Sprintf("[PAD%d]", id))
			v.types[id] = gguf.TokenUnused
		case hasUnk && int32(id) == unk:
			v.types[id] = gguf.TokenUnknown
		case isByte[id]:
			v.types[id] = gguf.TokenByte
		case tok.IsSpecial(int32(id)):
			v.types[id] = gguf.TokenControl
		case tok.IsAdded(int32(id)):
			v.types[id] = gguf.TokenUserDefined
		default:
			if _, ok := tok.Token(int32(id)); !ok {
				v.types[id] = gguf.TokenUnused
				continue
			}
			v.types[id] = gguf.TokenNormal
			if r, ok := first[int32(id)]; ok {
				v.scores[id] = -float32(r)
			} else {
				// Never a pair's concatenation (checked above): below every merge.
				v.scores[id] = -float32(len(merges) + id)
			}
		}
	}
	return v, nil
}

// symbol reports whether llama.cpp's SPM tokenizer may hold s as one
// symbol: a single character, or a token of the vocabulary.
func symbol(tok *tokenizer.Tokenizer, s string) bool {
	if utf8.RuneCountInString(s) == 1 {
		return true
	}
	id, ok := tok.TokenID(s)
	return ok && !tok.IsAdded(id)
}

// sameJSON reports whether raw and want are the same JSON value.
func sameJSON(raw json.RawMessage, want string) bool {
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	var a, b any
	if json.Unmarshal(raw, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	x, _ := json.Marshal(a) // values decoded from JSON always encode
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
