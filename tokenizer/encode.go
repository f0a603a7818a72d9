package tokenizer

// Encoding and decoding: added tokens first, then normalization,
// pre-tokenization and BPE on the text between them.

// Encode tokenizes text. Added tokens in the text, special ones included,
// are recognised and become their ids (Hugging Face's default). No BOS is
// added: see EncodeWithSpecialTokens.
func (t *Tokenizer) Encode(text string) []int32 {
	return t.encode(text, true, nil)
}

// EncodeOrdinary tokenizes text with special tokens' strings treated as
// plain text (Hugging Face's split_special_tokens=True); non-special added
// tokens are still recognised.
func (t *Tokenizer) EncodeOrdinary(text string) []int32 {
	return t.encode(text, false, nil)
}

// EncodeWithSpecialTokens is Encode plus the tokens the post-processor puts
// around a single sequence, as transformers' tokenizer(text) with
// add_special_tokens=True: Llama-3 gets <|begin_of_text|> first, GPT-2
// nothing. Chat renderings already hold their BOS; use Encode (or EncodeChat) for them.
func (t *Tokenizer) EncodeWithSpecialTokens(text string) []int32 {
	ids := append([]int32(nil), t.prefix...)
	ids = append(ids, t.encode(text, true, nil)...)
	return append(ids, t.suffix...)
}

// AddsBOS reports whether EncodeWithSpecialTokens starts with the BOS token.
func (t *Tokenizer) AddsBOS() bool {
	return len(t.prefix) > 0 && t.bos >= 0 && t.prefix[0] == t.bos
}

// EncodeOffsets is Encode that also returns, for each token, the byte range
// [start, end) of text it came from. Ranges can be empty (a prefix space that
// the pre-tokenizer inserted) and, after normalization, cover whole
// normalization units.
func (t *Tokenizer) EncodeOffsets(text string) (ids []int32, offsets [][2]int) {
	ids = t.encode(text, true, &offsets)
	return ids, offsets
}

func allowOrdinary(a *AddedToken) bool { return !a.Special }

func (t *Tokenizer) encode(text string, allowSpecial bool, offs *[][2]int) []int32 {
	ids := make([]int32, 0, len(text)/3+1)
	allow := allowOrdinary
	if allowSpecial {
		allow = nil
	}
	prev := 0
	for _, m := range t.trieRaw.find(text, t.added, allow) {
		ids = t.encodeSegment(ids, text[prev:m.start], prev, allow, offs)
		ids = append(ids, t.added[m.tok].ID)
		if offs != nil {
			*offs = append(*offs, [2]int{m.start, m.end})
		}
		prev = m.end
	}
	return t.encodeSegment(ids, text[prev:], prev, allow, offs)
}

// encodeSegment encodes text that holds no raw-matched added token; base is
// its offset in the input.
func (t *Tokenizer) encodeSegment(ids []int32, seg string, base int, allow func(*AddedToken) bool, offs *[][2]int) []int32 {
	if seg == "" {
		return ids
	}
	if t.norm == nil {
		return t.encodeNormalized(ids, seg, base, nil, base == 0, offs)
	}
	nseg, align := t.norm.normalize(seg, offs != nil)
	prev := 0
	for _, m := range t.trieNorm.find(nseg, t.added, allow) {
		ids = t.encodeNormalized(ids, nseg[prev:m.start], base, shiftAlign(align, prev), base == 0 && prev == 0, offs)
		ids = append(ids, t.added[m.tok].ID)
		if offs != nil {
			*offs = append(*offs, mapSpan(align, base, m.start, m.end))
		}
		prev = m.end
	}
	return t.encodeNormalized(ids, nseg[prev:], base, shiftAlign(align, prev), base == 0 && prev == 0, offs)
}

func shiftAlign(align []span, k int) []span {
	if align == nil {
		return nil
	}
	return align[k:]
}

// mapSpan maps [a, b) of normalized text back to the input.
func mapSpan(align []span, base, a, b int) [2]int {
	if align == nil {
		return [2]int{base + a, base + b}
	}
	if a >= len(align) {
		end := base
		if len(align) > 0 {
			end = base + int(align[len(align)-1].b)
		}
		return [2]int{end, end}
	}
	if b <= a {
		return [2]int{base + int(align[a].a), base + int(align[a].a)}
	}
	return [2]int{base + int(align[a].a), base + int(align[b-1].b)}
}

// encodeNormalized pre-tokenizes and merges normalized text. With align,
// byte k of s came from align[k] of the segment at base; without, from base+k.
// first says s starts the input (Metaspace's prepend_scheme "first").
func (t *Tokenizer) encodeNormalized(ids []int32, s string, base int, align []span, first bool, offs *[][2]int) []int32 {
	if s == "" {
		return ids
	}
	if t.meta != nil {
		ms, al := t.meta.apply(s, first, offs != nil) // only offsets need the alignment
		if al != nil {
			align = composeAlign(align, al)
		}
		s = ms
	}
	m := t.model
	if offs == nil {
		t.pre.split(piece{s: s}, func(p piece) {
			ids = m.appendPiece(ids, p.s)
		})
		return ids
	}
	t.pre.split(piece{s: s}, func(p piece) {
		n := len(ids)
		ids = m.appendPiece(ids, p.s)
		k := 0
		for _, id := range ids[n:] {
			k1 := k + len(m.raw[id])
			if m.byteFallback && id == m.unk {
				k1 = k + m.unkLen(p.s, k)
			}
			if k1 > len(p.s) {
				k1 = len(p.s)
			}
			*offs = append(*offs, mapSpan(align, base, p.pos(k), p.pos(k1)))
			k = k1
		}
	})
	return ids
}

// Decode turns ids back into text: the exact inverse of Encode for any input
// bytes (invalid UTF-8 too) when the tokenizer neither normalizes, nor adds a
// prefix space, nor has lstrip/rstrip added tokens that swallow whitespace
// (trained tokenizers, GPT-2, Llama-3). For a SentencePiece-style tokenizer
// it runs the tokenizer.json decoder chain as Hugging Face does ("▁" to
// space, <0xXX> runs to bytes, the leading space stripped): the inverse of
// Encode for valid UTF-8 text without added tokens (and, with a Metaspace
// pre-tokenizer, not starting with a space). Special tokens appear as their
// text; unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int32) string { return t.decode(ids, false) }

// DecodeSkipSpecial is Decode without the special tokens.
func (t *Tokenizer) DecodeSkipSpecial(ids []int32) string { return t.decode(ids, true) }

// TokenText returns what id adds to a text it does not begin, for decoding
// one token at a time as a stream: the concatenated TokenText of a sequence
// is Decode's result, except that for SentencePiece-style tokenizers
// Decode drops the space in front that the normalizer added and turns a run
// of byte tokens that is not valid UTF-8 into U+FFFD, where TokenText gives
// a byte token's one byte (part of a character, perhaps). Unknown ids give "".
func (t *Tokenizer) TokenText(id int32) string {
	if id < 0 || int(id) >= len(t.text) {
		return ""
	}
	return t.text[id]
}

func (t *Tokenizer) decode(ids []int32, skipSpecial bool) string {
	if t.dec != nil {
		toks := make([]string, 0, len(ids))
		for _, id := range ids {
			if skipSpecial && t.IsSpecial(id) {
				continue
			}
			if s, ok := t.Token(id); ok {
				toks = append(toks, s)
			}
		}
		return t.dec.decode(toks)
	}
	n := 0
	for _, id := range ids {
		if id >= 0 && int(id) < len(t.text) {
			n += len(t.text[id])
		}
	}
	buf := make([]byte, 0, n)
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.text) || (skipSpecial && t.special[id]) {
			continue
		}
		buf = append(buf, t.text[id]...)
	}
	return string(buf)
}
