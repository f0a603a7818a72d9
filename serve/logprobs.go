// Log-probs in the two OpenAI layouts: chat's list of {token, logprob,
// bytes, top_logprobs} objects and the legacy completions' parallel lists.

package serve

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokenText is how a token is named in log-probs: its decoded text
// (special tokens as written), or "bytes:\\xNN..." when that text is not
// valid UTF-8 (part of a character); chat's bytes field carries the exact
// bytes either way. Ids past the tokenizer's
// vocabulary (models pad theirs) have no text and are named by id, so
// that they stay distinct.
func (s *Server) tokenText(id int32) string {
	if int(id) >= s.tok.VocabSize() || id < 0 {
		return fmt.Sprintf("<|token_%d|>", id)
	}
	t := s.tok.TokenText(id)
	if !utf8.ValidString(t) {
		// Part of a character: named by its bytes, as the OpenAI API does,
		// so that names stay distinct and survive JSON.
		var b strings.Builder
		b.WriteString("bytes:")
		for i := 0; i < len(t); i++ {
			fmt.Fprintf(&b, "\\x%02x", t[i])
		}
		return b.String()
	}
	return t
}

// pieceText is what a generated token adds to the reply: its text in
// mid-sequence (tokenizer.TokenText), so that a SentencePiece-style
// token keeps its leading space ("▁world" is " world", where decoding it
// alone gives "world") and a byte token its one byte (the reply's UTF-8
// is completed across tokens, not replaced by U+FFFD), or nothing for a
// special token, as DecodeSkipSpecial leaves them out. The reply
// continues the prompt's text, as vLLM's incremental detokenizer has it.
func (s *Server) pieceText(id int32) string {
	if s.tok.IsSpecial(id) {
		return ""
	}
	return s.tok.TokenText(id)
}

// promptPieces is each prompt token's share of the echoed prompt text
// (empty for the first hidden ones, a BOS added by the tokenizer): its
// TokenText, except that where the pieces join to the text with one space
// in front (a SentencePiece normalizer prepends "▁", which decoding
// strips), the first piece gives that space up, so that text offsets
// count in the echoed text.
func (s *Server) promptPieces(ids []int32, hidden int, text string) []string {
	pieces := make([]string, len(ids))
	var joined strings.Builder
	for k := hidden; k < len(ids); k++ {
		pieces[k] = s.tok.TokenText(ids[k])
		joined.WriteString(pieces[k])
	}
	if j := joined.String(); len(j) == len(text)+1 && j[0] == ' ' && j[1:] == text {
		for k := hidden; k < len(ids); k++ {
			if pieces[k] != "" {
				pieces[k] = pieces[k][1:]
				break
			}
		}
	}
	return pieces
}

// tokenBytes is the exact bytes of a token's text, as a JSON list of
// numbers (not base64).
func (s *Server) tokenBytes(id int32) []int {
	str := s.tok.TokenText(id)
	out := make([]int, len(str))
	for i := 0; i < len(str); i++ {
		out[i] = int(str[i])
	}
	return out
}

// chatLogprobs builds chat log-prob entries for tokens idx of c.
func (s *Server) chatLogprobs(c *choiceState, idx []int) []chatTokenLogprob {
	out := make([]chatTokenLogprob, 0, len(idx))
	for _, i := range idx {
		id := c.tokens[i]
		e := chatTokenLogprob{Token: s.tokenText(id), Logprob: safeLogprob(c.lps[i]), Bytes: s.tokenBytes(id), TopLogprobs: []chatTopLogprob{}}
		for _, a := range c.tops[i] {
			e.TopLogprobs = append(e.TopLogprobs, chatTopLogprob{Token: s.tokenText(a.token), Logprob: safeLogprob(a.logprob), Bytes: s.tokenBytes(a.token)})
		}
		out = append(out, e)
	}
	return out
}

// complLogprobsBuilder accumulates legacy log-probs for one choice, with
// text offsets in characters from the start of the choice's text.
type complLogprobsBuilder struct {
	s    *Server
	lp   complLogprobs
	top  int    // alternatives wanted per position (0: none listed)
	text []byte // the text the offsets count into, so far
}

func (s *Server) newComplLogprobs(top int) *complLogprobsBuilder {
	return &complLogprobsBuilder{s: s, top: top, lp: complLogprobs{
		Tokens: []string{}, TokenLogprobs: []*float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{},
	}}
}

// add appends one token, which contributes piece to the choice's text
// (special tokens appear in an echoed prompt but not in generated text).
// has is false for the first prompt token, which has no log-prob.
func (b *complLogprobsBuilder) add(id int32, piece string, lp float32, has bool, alts []tokenLogprob) {
	b.lp.Tokens = append(b.lp.Tokens, b.s.tokenText(id))
	b.lp.TextOffset = append(b.lp.TextOffset, utf8.RuneCount(b.text))
	b.text = append(b.text, piece...)
	if !has {
		b.lp.TokenLogprobs = append(b.lp.TokenLogprobs, nil)
		b.lp.TopLogprobs = append(b.lp.TopLogprobs, nil)
		return
	}
	b.lp.TokenLogprobs = append(b.lp.TokenLogprobs, ptr(safeLogprob(lp)))
	if b.top == 0 {
		b.lp.TopLogprobs = append(b.lp.TopLogprobs, nil)
		return
	}
	m := make(map[string]float64, len(alts))
	for _, a := range alts {
		at := b.s.tokenText(a.token)
		if _, dup := m[at]; !dup { // two ids may print alike; keep the likelier
			m[at] = safeLogprob(a.logprob)
		}
	}
	b.lp.TopLogprobs = append(b.lp.TopLogprobs, m)
}

// take returns what was added since the last take (for streaming) and
// starts a new batch, keeping the offsets running.
func (b *complLogprobsBuilder) take() *complLogprobs {
	out := b.lp
	b.lp = complLogprobs{Tokens: []string{}, TokenLogprobs: []*float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	return &out
}
