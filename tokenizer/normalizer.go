package tokenizer

// Normalizers of tokenizer.json that byte-level BPE models use (Qwen2: NFC).
// Each returns the normalized text and, when it changed anything, where each
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
	// normalize returns s normalized; align is nil when out == s, else it
	// gives for each byte of out the span of s it came from.
	normalize(s string) (out string, align []span)
}

// formNorm is NFC, NFD, NFKC or NFKD.
type formNorm struct{ f norm.Form }

func (n formNorm) normalize(s string) (string, []span) {
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

func (n lowerNorm) normalize(s string) (string, []span) {
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

// seqNorm applies its normalizers in order and composes their alignments.
type seqNorm []normalizer

func (q seqNorm) normalize(s string) (string, []span) {
	var align []span
	for _, n := range q {
		out, al := n.normalize(s)
		if al != nil {
			if align != nil {
				for k := range al {
					al[k] = span{align[al[k].a].a, align[al[k].b-1].b}
				}
			}
			align = al
		}
		s = out
	}
	return s, align
}

type normalizerJSON struct {
	Type        string           `json:"type"`
	Normalizers []normalizerJSON `json:"normalizers"`
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
	return nil, fmt.Errorf("normalizer type %q is not supported (byte-level BPE models use none, NFC, NFD, NFKC, NFKD, Lowercase or a Sequence of them)", j.Type)
}
