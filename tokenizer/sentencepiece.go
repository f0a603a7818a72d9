package tokenizer

// SentencePiece-style BPE (Llama-2, TinyLlama, Mistral-7B v0.1, CodeLlama):
// a BPE model with "byte_fallback": true over characters, not bytes. Text is
// normalized to "▁Hello▁world" (by a Prepend + Replace normalizer in
// "legacy" files, or by a Metaspace pre-tokenizer in newer ones), each
// character is a symbol, a character outside the vocabulary becomes its
// UTF-8 bytes as <0xXX> tokens, and the same rank-ordered merges as byte-level
// BPE run on top (mergeShort / mergeHeap). Decoding runs the file's decoder
// chain (Replace, ByteFallback, Fuse, Strip or Metaspace) as Hugging Face's
// tokenizers does.

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// metaChar is SentencePiece's visible space, the replacement these vocabularies use.
const metaChar = "▁"

// byteTokenName is how a byte-fallback vocabulary names byte b: "<0x0A>".
func byteTokenName(b byte) string { return fmt.Sprintf("<0x%02X>", b) }

// parseByteToken reads a token the way the ByteFallback decoder does: six
// bytes, "<0x", two digits Rust's u8::from_str_radix accepts, ">".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	hex := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	lo, ok := hex(s[4])
	if !ok {
		return 0, false
	}
	if s[3] == '+' { // from_str_radix takes a sign
		return lo, true
	}
	hi, ok := hex(s[3])
	return hi<<4 | lo, ok
}

// appendChars is appendPiece for a character-level (byte_fallback) model.
// The piece is merged word by word, "▁Hello", "▁world", cut before each run
// of "▁" that no merge can join to what precedes it (cutOK). That gives the
// ids merging it whole gives, as Hugging Face does for legacy files with no
// pre-tokenizer, but lets the piece cache work and keeps the heap small.
func (m *bpeModel) appendChars(dst []int32, p string) []int32 {
	if m.ignoreMerges {
		if id, ok := m.rawIDs[p]; ok {
			return append(dst, id)
		}
	}
	for start := 0; start < len(p); {
		end := len(p)
		if m.splitMeta {
			end = m.nextCut(p, start)
		}
		dst = m.appendWord(dst, p[start:end])
		start = end
	}
	return dst
}

// nextCut is where the word of p starting at start ends: before the next
// run of "▁" that may be cut from what precedes it, or at the end of p.
func (m *bpeModel) nextCut(p string, start int) int {
	for j := start; ; {
		for strings.HasPrefix(p[j:], metaChar) {
			j += len(metaChar)
		}
		k := strings.Index(p[j:], metaChar)
		if k < 0 {
			return len(p)
		}
		if j += k; m.cutOK(p[:j]) {
			return j
		}
	}
}

// cutOK reports whether text s can be merged apart from a "▁" after it. A
// merge across the cut would make a token holding the last rune of the
// symbol before it (the character, the ">" of a byte token, or the last
// rune of the unknown token) right before "▁": buildModel lists those
// runes in metaBefore. A character dropped for want of an unknown token
// leaves an earlier symbol at the cut, so it never cuts.
func (m *bpeModel) cutOK(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	if id, _ := m.charID(s, len(s)-n); id < 0 {
		switch {
		case m.hasFallback(s[len(s)-n:]):
			r = '>'
		case m.unk >= 0:
			r, _ = utf8.DecodeLastRuneInString(m.vocab[m.unk])
		default:
			return false
		}
	}
	return r != utf8.RuneError && !m.metaBefore[r]
}

// charID is the vocabulary id of the character at w[i:i+n], -1 if none.
func (m *bpeModel) charID(w string, i int) (id int32, n int) {
	if c := w[i]; c < utf8.RuneSelf {
		return m.byteID[c], 1
	}
	_, n = utf8.DecodeRuneInString(w[i:])
	if id, ok := m.ids[w[i:i+n]]; ok {
		return id, n
	}
	return -1, n
}

// hasFallback reports whether every byte of c has its <0xXX> token.
func (m *bpeModel) hasFallback(c string) bool {
	for k := 0; k < len(c); k++ {
		if m.fallback[c[k]] < 0 {
			return false
		}
	}
	return m.byteFallback
}

// appendWord merges one word of a character-level model into ids.
func (m *bpeModel) appendWord(dst []int32, w string) []int32 {
	if ids, ok := m.cache.get(w); ok {
		return append(dst, ids...)
	}
	var buf [64]int32
	syms := buf[:0]
	// Hugging Face adds a run of unknown characters when the next known
	// character (or the end) comes, after any byte tokens met meanwhile:
	// the same order here, so ids agree even for vocabularies missing bytes.
	pendingUnk := false
	for i := 0; i < len(w); {
		id, n := m.charID(w, i)
		switch {
		case id >= 0:
			if pendingUnk {
				syms = append(syms, m.unk)
				pendingUnk = false
			}
			syms = append(syms, id)
		case m.hasFallback(w[i : i+n]):
			for k := i; k < i+n; k++ {
				syms = append(syms, m.fallback[w[k]])
			}
		case m.unk >= 0:
			if pendingUnk && !m.fuseUnk {
				syms = append(syms, m.unk)
			}
			pendingUnk = true
		}
		i += n
	}
	if pendingUnk {
		syms = append(syms, m.unk)
	}
	if len(syms) <= len(buf) {
		syms = m.mergeShort(syms)
	} else {
		syms = m.mergeHeap(syms)
	}
	m.cache.put(w, syms)
	return append(dst, syms...)
}

// unkLen is how many bytes of w from i an unknown token stands for: one
// unknown character, or the run of them when unknowns are fused.
func (m *bpeModel) unkLen(w string, i int) int {
	j := i
	for j < len(w) {
		id, n := m.charID(w, j)
		if id >= 0 || m.hasFallback(w[j:j+n]) {
			break
		}
		j += n
		if !m.fuseUnk {
			break
		}
	}
	return j - i
}

// noteMetaBefore adds to metaBefore the runes that precede a "▁" in token
// s, other than "▁" itself.
func (m *bpeModel) noteMetaBefore(s string) {
	for i := strings.Index(s, metaChar); i >= 0; {
		if r, _ := utf8.DecodeLastRuneInString(s[:i]); i > 0 && r != '▁' {
			if m.metaBefore == nil {
				m.metaBefore = map[rune]bool{}
			}
			m.metaBefore[r] = true
		}
		k := strings.Index(s[i+len(metaChar):], metaChar)
		if k < 0 {
			break
		}
		i += len(metaChar) + k
	}
}

// prependScheme is when Metaspace adds its "▁" in front of a segment.
type prependScheme uint8

const (
	prependAlways prependScheme = iota
	prependFirst                // only the segment at the start of the input
	prependNever
)

// metaspace is the Metaspace pre-tokenizer's rewriting: spaces become the
// replacement, and a replacement goes in front unless the segment already
// starts with one. It runs on each segment between added tokens, after
// normalization; its split, when set, is a separate Split step in Tokenizer.pre.
type metaspace struct {
	rep    string
	scheme prependScheme
	split  bool
}

type metaspaceJSON struct {
	Type           string  `json:"type"`
	Replacement    *string `json:"replacement"`
	AddPrefixSpace *bool   `json:"add_prefix_space"`
	PrependScheme  *string `json:"prepend_scheme"`
	Split          *bool   `json:"split"`
}

// parseMetaspace reads a Metaspace object with Hugging Face's defaults:
// prepend_scheme "always", split true, add_prefix_space false meaning "never".
func parseMetaspace(raw json.RawMessage) (*metaspace, error) {
	var j metaspaceJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("Metaspace: %w", err)
	}
	if j.Replacement == nil || utf8.RuneCountInString(*j.Replacement) != 1 {
		return nil, fmt.Errorf("Metaspace: replacement must be one character")
	}
	ms := &metaspace{rep: *j.Replacement, split: boolOr(j.Split, true)}
	if j.PrependScheme != nil {
		switch *j.PrependScheme {
		case "always":
		case "first":
			ms.scheme = prependFirst
		case "never":
			ms.scheme = prependNever
		default:
			return nil, fmt.Errorf("Metaspace: unknown prepend_scheme %q", *j.PrependScheme)
		}
	}
	if j.AddPrefixSpace != nil && !*j.AddPrefixSpace {
		if ms.scheme != prependNever && j.PrependScheme != nil {
			return nil, fmt.Errorf("Metaspace: add_prefix_space false contradicts prepend_scheme %q", *j.PrependScheme)
		}
		ms.scheme = prependNever
	}
	return ms, nil
}

// apply rewrites s; first says s starts at offset 0 of the input. align is
// nil when nothing changed or wantAlign is false.
func (ms *metaspace) apply(s string, first, wantAlign bool) (string, []span) {
	out, align := replaceNorm{" ", ms.rep}.normalize(s, wantAlign)
	if ms.scheme == prependAlways || (ms.scheme == prependFirst && first) {
		if out != "" && !strings.HasPrefix(out, ms.rep) {
			p, pal := prependNorm{ms.rep}.normalize(out, wantAlign)
			out, align = p, composeAlign(align, pal)
		}
	}
	return out, align
}

// decodeStep is one decoder of a SentencePiece-style tokenizer.json.
type decodeStep struct {
	kind        string // Replace, ByteFallback, Fuse, Strip, Metaspace
	old, new    string // Replace; Metaspace: the replacement and " "
	strip       rune   // Strip
	start, stop int    // Strip
	dropFirst   bool   // Metaspace: the first token loses its replacements
}

// spmDecoder runs the decoder chain over token strings, as tokenizers'
// Decoder::decode_chain.
type spmDecoder []decodeStep

type decoderJSON struct {
	Type     string            `json:"type"`
	Decoders []json.RawMessage `json:"decoders"`
	Pattern  *patternJSON      `json:"pattern"`
	Content  json.RawMessage   `json:"content"`
	Start    int               `json:"start"`
	Stop     int               `json:"stop"`
}

// parseDecoder reads the decoder of a byte_fallback tokenizer.json.
func parseDecoder(raw json.RawMessage, depth int) (spmDecoder, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("a byte_fallback tokenizer needs a decoder (Replace, ByteFallback, Fuse, Strip or Metaspace)")
	}
	if depth > 32 {
		return nil, fmt.Errorf("decoder: Sequence nested deeper than 32")
	}
	var j decoderJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	switch j.Type {
	case "Sequence":
		var out spmDecoder
		for _, sub := range j.Decoders {
			d, err := parseDecoder(sub, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, d...)
		}
		return out, nil
	case "Replace":
		var content string
		if j.Pattern == nil || j.Pattern.String == nil || *j.Pattern.String == "" || json.Unmarshal(j.Content, &content) != nil {
			return nil, fmt.Errorf("decoder Replace: only a non-empty String pattern with a string content is supported")
		}
		return spmDecoder{{kind: j.Type, old: *j.Pattern.String, new: content}}, nil
	case "ByteFallback", "Fuse":
		return spmDecoder{{kind: j.Type}}, nil
	case "Strip":
		var content string
		if json.Unmarshal(j.Content, &content) != nil || utf8.RuneCountInString(content) != 1 || j.Start < 0 || j.Stop < 0 {
			return nil, fmt.Errorf("decoder Strip: content must be one character, start and stop counts")
		}
		r, _ := utf8.DecodeRuneInString(content)
		return spmDecoder{{kind: j.Type, strip: r, start: j.Start, stop: j.Stop}}, nil
	case "Metaspace":
		ms, err := parseMetaspace(raw)
		if err != nil {
			return nil, fmt.Errorf("decoder %w", err)
		}
		return spmDecoder{{kind: j.Type, old: ms.rep, new: " ", dropFirst: ms.scheme != prependNever}}, nil
	}
	return nil, fmt.Errorf("decoder type %q is not supported for a byte_fallback tokenizer (Replace, ByteFallback, Fuse, Strip, Metaspace or a Sequence of them)", j.Type)
}

// decode runs the chain over the tokens and joins what is left.
func (d spmDecoder) decode(toks []string) string {
	for _, st := range d {
		switch st.kind {
		case "Replace":
			for k, s := range toks {
				if strings.Contains(s, st.old) {
					toks[k] = strings.ReplaceAll(s, st.old, st.new)
				}
			}
		case "Metaspace":
			for k, s := range toks {
				if strings.Contains(s, st.old) {
					to := st.new
					if k == 0 && st.dropFirst {
						to = ""
					}
					toks[k] = strings.ReplaceAll(s, st.old, to)
				}
			}
		case "ByteFallback":
			toks = byteFallbackDecode(toks)
		case "Fuse":
			toks = []string{strings.Join(toks, "")}
		case "Strip":
			for k, s := range toks {
				toks[k] = stripRunes(s, st.strip, st.start, st.stop)
			}
		}
	}
	return strings.Join(toks, "")
}

// byteFallbackDecode turns each run of <0xXX> tokens into its bytes, or,
// when the run is not valid UTF-8, into one U+FFFD per byte.
func byteFallbackDecode(toks []string) []string {
	out := make([]string, 0, len(toks))
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		if utf8.Valid(run) {
			out = append(out, string(run))
		} else {
			for range run {
				out = append(out, "\uFFFD")
			}
		}
		run = run[:0]
	}
	for _, s := range toks {
		if b, ok := parseByteToken(s); ok {
			run = append(run, b)
			continue
		}
		flush()
		out = append(out, s)
	}
	flush()
	return out
}

// stripRunes removes up to start leading and stop trailing c from s.
func stripRunes(s string, c rune, start, stop int) string {
	for ; start > 0; start-- {
		r, n := utf8.DecodeRuneInString(s)
		if n == 0 || r != c {
			break
		}
		s = s[n:]
	}
	for ; stop > 0; stop-- {
		r, n := utf8.DecodeLastRuneInString(s)
		if n == 0 || r != c {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}

// tokenText is what a vocabulary token adds in the middle of a decoded
// text: its replacements turned back into spaces, a byte token its byte.
func (d spmDecoder) tokenText(s string) string {
	if b, ok := parseByteToken(s); ok {
		for _, st := range d {
			if st.kind == "ByteFallback" {
				return string([]byte{b})
			}
		}
	}
	for _, st := range d {
		if st.kind == "Replace" || st.kind == "Metaspace" {
			s = strings.ReplaceAll(s, st.old, st.new)
		}
	}
	return s
}
