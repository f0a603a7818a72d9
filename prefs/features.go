package prefs

import (
	"bytes"
	"hash/maphash"
	"strings"
	"unicode"
	"unicode/utf8"
)

// normalize appends s lower-cased, with runs of whitespace collapsed to one
// space and the ends trimmed: the form under which two texts count as the
// same for normalized duplicates, items and belief matching.
func normalize(dst []byte, s string) []byte {
	space := false
	start := len(dst)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' {
				space = true
				continue
			}
			if space && len(dst) > start {
				dst = append(dst, ' ')
			}
			space = false
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}

// hasher computes the 64-bit fingerprints the audit keeps instead of texts.
// At a million rows the chance that two different texts share a 64-bit
// fingerprint is about 3e-8, which we accept.
type hasher struct {
	seed maphash.Seed
	buf  []byte
}

func (h *hasher) raw(s string) uint64 { return maphash.String(h.seed, s) }

// norm returns the fingerprint of the normalized text and leaves the
// normalized bytes in h.buf.
func (h *hasher) norm(s string) uint64 {
	h.buf = normalize(h.buf[:0], s)
	return maphash.Bytes(h.seed, h.buf)
}

// mix combines fingerprints into one key (splitmix64 finalizer per step).
func mix(hs ...uint64) uint64 {
	var x uint64 = 0x9e3779b97f4a7c15
	for _, h := range hs {
		x ^= h + 0x9e3779b97f4a7c15 + (x << 6) + (x >> 2)
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
	}
	return x
}

// beliefTriggers open a clause in which the user states what they believe
// the answer is. Matched on normalized (lower-cased) prompts.
var beliefTriggers = []string{
	"i think ", "i believe ", "i'm pretty sure ", "i am pretty sure ", "i'm fairly sure ",
	"i'm quite sure ", "i'm sure ", "i am sure ", "i'm certain ", "i am certain ",
	"i'm confident ", "i am confident ", "i suspect ", "i reckon ", "i feel like ",
	"my guess is ", "my answer is ", "in my opinion ", "i'm convinced ", "i am convinced ",
}

// beliefCopulas split "the answer is X" so that only X is matched.
var beliefCopulas = []string{" is ", " are ", " was ", " were ", " equals ", " = ", " should be ", " would be "}

// mayStateBelief is a cheap filter before statedBelief: every trigger
// contains "i " or "i'm" or "my ".
func mayStateBelief(p []byte) bool {
	return bytes.Contains(p, []byte("i ")) || bytes.Contains(p, []byte("i'm ")) || bytes.Contains(p, []byte("my "))
}

// statedBelief extracts what the user says they believe from a normalized
// prompt ("... i think the answer is 41." gives "41"), or "" when the prompt
// states no belief. The last statement wins, as in a pushback turn.
func statedBelief(p string) string {
	// One backward pass over word starts; the first trigger found from the
	// end is the last statement.
	at, trig := -1, ""
	for i := len(p) - 1; i >= 0 && at < 0; i-- {
		if c := p[i]; (c != 'i' && c != 'm') || (i > 0 && isWordByte(p[i-1])) {
			continue
		}
		for _, t := range beliefTriggers {
			if strings.HasPrefix(p[i:], t) {
				at, trig = i, t
				break
			}
		}
	}
	if at < 0 {
		return ""
	}
	clause := p[at+len(trig):]
	// The clause ends at the end of its sentence; a '.' between digits is a
	// decimal point, not an end.
	end := len(clause)
	for i := 0; i < len(clause); i++ {
		c := clause[i]
		if c == '?' || c == '!' || c == ';' || c == '\n' || c == ',' ||
			(c == '.' && !(i > 0 && i+1 < len(clause) && isDigit(clause[i-1]) && isDigit(clause[i+1]))) {
			end = i
			break
		}
	}
	clause = strings.TrimPrefix(strings.TrimSpace(clause[:end]), "that ")
	for _, cp := range beliefCopulas {
		if i := strings.LastIndex(" "+clause, cp); i >= 0 {
			clause = (" " + clause)[i+len(cp):]
		}
	}
	clause = strings.Trim(clause, " \"'`*")
	for _, pre := range []string{"it's ", "its ", "it is ", "the answer is ", "answer is "} {
		clause = strings.TrimPrefix(clause, pre)
	}
	if clause == "" || len(clause) > 60 || strings.Count(clause, " ") > 5 {
		return ""
	}
	switch clause {
	case "so", "not", "it", "this", "that", "yes", "no":
		return ""
	}
	return clause
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c >= utf8.RuneSelf
}

// mentions reports whether normalized text t contains phrase as whole words.
func mentions(t, phrase string) bool {
	for off := 0; ; {
		i := strings.Index(t[off:], phrase)
		if i < 0 {
			return false
		}
		i += off
		j := i + len(phrase)
		if (i == 0 || !isWordByte(t[i-1])) && (j == len(t) || !isWordByte(t[j]) || !isWordByte(phrase[len(phrase)-1])) {
			// A trailing decimal such as "41.5" for "41" is another number.
			if !(j+1 < len(t) && t[j] == '.' && isDigit(t[j+1]) && isDigit(phrase[len(phrase)-1])) {
				return true
			}
		}
		off = i + 1
	}
}

// minLengthRatio is how much longer (in characters) one response must be
// for the pair to count in the length-bias test; near-equal pairs say
// nothing about a preference for length.
const minLengthRatio = 1.1

// longerOf returns 0 if a is the longer response, 1 if b is, -1 if neither
// is longer by minLengthRatio.
func longerOf(a, b string) int8 {
	la, lb := float64(utf8.RuneCountInString(a)), float64(utf8.RuneCountInString(b))
	switch {
	case la >= lb*minLengthRatio:
		return 0
	case lb >= la*minLengthRatio:
		return 1
	}
	return -1
}
