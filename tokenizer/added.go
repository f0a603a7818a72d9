package tokenizer

// Added tokens (special or not) are found in the text before anything else,
// leftmost-longest as Hugging Face's AddedVocabulary does, with its
// single_word, lstrip and rstrip rules. A byte trie keeps the scan to one
// table lookup per byte of text.

import (
	"unicode"
	"unicode/utf8"
)

// AddedToken is one entry of tokenizer.json's added_tokens.
type AddedToken struct {
	ID      int32  `json:"id"`
	Content string `json:"content"`
	// SingleWord matches the token only where it is not inside a word.
	SingleWord bool `json:"single_word"`
	// LStrip and RStrip make the match swallow the whitespace before or after it.
	LStrip bool `json:"lstrip"`
	RStrip bool `json:"rstrip"`
	// Normalized matches the token against normalized text instead of the raw input.
	Normalized bool `json:"normalized"`
	// Special tokens are control tokens: skipped by DecodeSkipSpecial and,
	// in EncodeOrdinary, encoded as plain text.
	Special bool `json:"special"`
}

// trie finds added tokens by their (possibly normalized) content.
type trie struct {
	nodes []trieNode
	first [256]bool // bytes that start some token
}

type trieNode struct {
	edges []trieEdge
	tok   int32 // index into the added tokens; -1 when no token ends here
}

type trieEdge struct {
	b    byte
	next int32
}

func newTrie() *trie { return &trie{nodes: []trieNode{{tok: -1}}} }

func (t *trie) insert(s string, tok int32) {
	if s == "" {
		return
	}
	t.first[s[0]] = true
	n := int32(0)
	for i := 0; i < len(s); i++ {
		found := int32(-1)
		for _, e := range t.nodes[n].edges {
			if e.b == s[i] {
				found = e.next
				break
			}
		}
		if found < 0 {
			found = int32(len(t.nodes))
			t.nodes = append(t.nodes, trieNode{tok: -1})
			t.nodes[n].edges = append(t.nodes[n].edges, trieEdge{s[i], found})
		}
		n = found
	}
	if t.nodes[n].tok < 0 {
		t.nodes[n].tok = tok
	}
}

// match is an added token found in a text: [start, end) including any
// stripped whitespace.
type match struct {
	start, end int
	tok        int32 // index into the added tokens
}

// isWordChar is what single_word tokens must not touch.
func isWordChar(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// find returns the added-token matches in s, in order and without overlap.
// allow says which tokens may match (nil: all).
func (t *trie) find(s string, added []AddedToken, allow func(*AddedToken) bool) []match {
	var out []match
	prevEnd := 0
	for i := 0; i < len(s); i++ {
		if !t.first[s[i]] {
			continue
		}
		// Longest allowed token starting at i.
		best, bestEnd := int32(-1), 0
		n := int32(0)
		for j := i; j < len(s); j++ {
			nx := int32(-1)
			for _, e := range t.nodes[n].edges {
				if e.b == s[j] {
					nx = e.next
					break
				}
			}
			if nx < 0 {
				break
			}
			n = nx
			if k := t.nodes[n].tok; k >= 0 && (allow == nil || allow(&added[k])) &&
				singleWordOK(s, i, j+1, &added[k]) {
				best, bestEnd = k, j+1
			}
		}
		if best < 0 {
			continue
		}
		a := &added[best]
		start, end := i, bestEnd
		if a.LStrip {
			for start > prevEnd {
				r, size := utf8.DecodeLastRuneInString(s[:start])
				if !unicode.IsSpace(r) {
					break
				}
				start -= size
			}
		}
		if a.RStrip {
			for end < len(s) {
				r, size := utf8.DecodeRuneInString(s[end:])
				if !unicode.IsSpace(r) {
					break
				}
				end += size
			}
		}
		out = append(out, match{start, end, best})
		prevEnd = end
		i = end - 1
	}
	return out
}

func singleWordOK(s string, start, end int, a *AddedToken) bool {
	if !a.SingleWord {
		return true
	}
	if start > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:start]); isWordChar(r) {
			return false
		}
	}
	if end < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[end:]); isWordChar(r) {
			return false
		}
	}
	return true
}
