package tokenizer

// Normalizers of tokenizer.json: the Unicode forms and Lowercase that
// byte-level BPE models use (Qwen2: NFC), and the Prepend + Replace pair of
// SentencePiece-style ones (Llama-2: "▁" in front, spaces to "▁"). Each returns the normalized text and, when it changed anything, where each
// output byte came from, so token offsets still point into the input.

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// span is a byte range of the text before normalization.
type span struct{ a, b int32 }

type normalizer interface {
	// normalize returns s normalized; align is nil when out == s or when
	// wantAlign is false (it may be nil then), else it gives for each byte of
	// out the span of s it came from.
	normalize(s string, wantAlign bool) (out string, align []span)
}

// formNorm is NFC, NFD, NFKC or NFKD.
type formNorm struct{ f norm.Form }

func (n formNorm) normalize(s string, _ bool) (string, []span) {
	if n.f.IsNormalString(s) {
		return s, nil
	}
	var it norm.Iter
	it.InitString(n.f, s)
	out := make([]byte, 0, len(s)+len(s)/4)
	align := make([]span, 0, len(s)+len(s)/4)
	for !it.Done() {
		start := it.Pos()
		seg := it.Next()
		end := it.Pos()
		out = append(out, seg...)
		for range seg {
			align = append(align, span{int32(start), int32(end)})
		}
	}
	return string(out), align
}

// lowerNorm is Lowercase, rune by rune (simple case mapping).
type lowerNorm struct{}

func (n lowerNorm) normalize(s string, _ bool) (string, []span) {
	out := make([]byte, 0, len(s))
	align := make([]span, 0, len(s))
	changed := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		seg := s[i : i+size]
		if !(r == utf8.RuneError && size == 1) {
			if l := strings.ToLower(seg); l != seg {
				seg, changed = l, true
			}
		}
		out = append(out, seg...)
		for range seg {
			align = append(align, span{int32(i), int32(i + size)})
		}
		i += size
	}
	if !changed {
		return s, nil
	}
	return string(out), align
}

// prependNorm is Prepend: the prefix goes in front of a non-empty text.
// Its bytes map to no input bytes (an empty span at 0).
type prependNorm struct{ prefix string }

func (n prependNorm) normalize(s string, wantAlign bool) (string, []span) {
	if s == "" || n.prefix == "" {
		return s, nil
	}
	if !wantAlign {
		return n.prefix + s, nil
	}
	align := make([]span, len(n.prefix)+len(s))
	for i := range len(s) {
		align[len(n.prefix)+i] = span{int32(i), int32(i + 1)}
	}
	return n.prefix + s, align
}

// replaceNorm is Replace with a String pattern: every occurrence, left to
// right, without overlap; each byte put in maps to the whole occurrence.
type replaceNorm struct{ old, new string }

func (n replaceNorm) normalize(s string, wantAlign bool) (string, []span) {
	if n.old == "" || !strings.Contains(s, n.old) {
		return s, nil
	}
	if !wantAlign {
		return strings.ReplaceAll(s, n.old, n.new), nil
	}
	out := make([]byte, 0, len(s)+len(s)/2)
	align := make([]span, 0, cap(out))
	for i := 0; i < len(s); {
		k := strings.Index(s[i:], n.old)
		if k < 0 {
			k = len(s) - i
		}
		for j := i; j < i+k; j++ {
			out = append(out, s[j])
			align = append(align, span{int32(j), int32(j + 1)})
		}
		i += k
		if i == len(s) {
			break
		}
		out = append(out, n.new...)
		for range len(n.new) {
			align = append(align, span{int32(i), int32(i + len(n.old))})
		}
		i += len(n.old)
	}
	return string(out), align
}

// composeAlign maps al (onto a text that prev maps onto the input) straight
// onto the input; nil prev is the identity. An empty span stays empty, at
// the input position its text position maps to.
func composeAlign(prev, al []span) []span {
	if prev == nil || al == nil {
		if al == nil {
			return prev
		}
		return al
	}
	at := func(p int32) int32 { // input offset of text offset p
		if int(p) < len(prev) {
			return prev[p].a
		}
		if len(prev) > 0 {
			return prev[len(prev)-1].b
		}
		return 0
	}
	for k, sp := range al {
		if sp.a == sp.b {
			p := at(sp.a)
			al[k] = span{p, p}
			continue
		}
		al[k] = span{prev[sp.a].a, prev[sp.b-1].b}
	}
	return al
}

// seqNorm applies its normalizers in order and composes their alignments.
type seqNorm []normalizer

func (q seqNorm) normalize(s string, wantAlign bool) (string, []span) {
	var align []span
	for _, n := range q {
		out, al := n.normalize(s, wantAlign)
		align = composeAlign(align, al)
		s = out
	}
	return s, align
}

type normalizerJSON struct {
	Type        string           `json:"type"`
	Normalizers []normalizerJSON `json:"normalizers"`
	Prepend     *string          `json:"prepend"`
	Pattern     *patternJSON     `json:"pattern"`
	Content     *string          `json:"content"`
}

// parseNormalizer builds the normalizer of a tokenizer.json (nil when none).
func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var j normalizerJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	return buildNormalizer(&j, 0)
}

func buildNormalizer(j *normalizerJSON, depth int) (normalizer, error) {
	if depth > 32 {
		return nil, fmt.Errorf("normalizer: Sequence nested deeper than 32")
	}
	switch j.Type {
	case "NFC":
		return formNorm{norm.NFC}, nil
	case "NFD":
		return formNorm{norm.NFD}, nil
	case "NFKC":
		return formNorm{norm.NFKC}, nil
	case "NFKD":
		return formNorm{norm.NFKD}, nil
	case "Lowercase":
		return lowerNorm{}, nil
	case "Prepend":
		if j.Prepend == nil {
			return nil, fmt.Errorf("normalizer Prepend: no prepend string")
		}
		return prependNorm{*j.Prepend}, nil
	case "Replace":
		if j.Pattern == nil || j.Pattern.String == nil || *j.Pattern.String == "" || j.Content == nil {
			return nil, fmt.Errorf("normalizer Replace: only a non-empty String pattern with a content is supported")
		}
		return replaceNorm{*j.Pattern.String, *j.Content}, nil
	case "Sequence":
		var q seqNorm
		for k := range j.Normalizers {
			n, err := buildNormalizer(&j.Normalizers[k], depth+1)
			if err != nil {
				return nil, err
			}
			if n != nil {
				q = append(q, n)
			}
		}
		if len(q) == 0 {
			return nil, nil
		}
		return q, nil
	}
	return nil, fmt.Errorf("normalizer type %q is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace with a String pattern, or a Sequence of them)", j.Type)
}
