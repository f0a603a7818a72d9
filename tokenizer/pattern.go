package tokenizer

// Hand-written matchers for the three pre-tokenization patterns that
// byte-level BPE models ship. Each next* function returns the end of the
// match that the regular expression would find at position i (a match always
// exists: every rune is a letter, a number, a space or something else), with
// the regex's leftmost-first alternation and greedy backtracking worked out
// by hand. pattern_test.go checks them against regexp2 on random text.

import (
	"unicode"
	"unicode/utf8"
)

// The regular expressions these matchers implement, as tokenizer.json spells them.
const (
	// PatternGPT2 is GPT-2's pre-tokenization pattern (ByteLevel use_regex).
	PatternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// PatternLlama3 is Llama-3's Split pattern (tiktoken's cl100k_base).
	PatternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// PatternQwen2 is Qwen2's Split pattern: Llama-3's with single digits.
	PatternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// Rune classes of the patterns: \p{L}, \p{N}, \s and everything else
// (an invalid UTF-8 byte is one rune of class other, like U+FFFD).
const (
	clsOther uint8 = iota
	clsLetter
	clsNumber
	clsSpace
)

var asciiClass [utf8.RuneSelf]uint8

func init() {
	for c := 0; c < utf8.RuneSelf; c++ {
		asciiClass[c] = classOf(rune(c))
	}
}

func classOf(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r):
		return clsSpace
	}
	return clsOther
}

// classAt decodes the rune at s[i] and its class.
func classAt(s string, i int) (r rune, size int, cls uint8) {
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), 1, asciiClass[c]
	}
	r, size = utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size == 1 {
		return r, 1, clsOther
	}
	return r, size, classOf(r)
}

// runOf returns the end of the run of runes of class cls starting at j.
func runOf(s string, j int, cls uint8) int {
	for j < len(s) {
		c := s[j]
		if c < utf8.RuneSelf {
			if asciiClass[c] != cls {
				return j
			}
			j++
			continue
		}
		_, n, k := classAt(s, j)
		if k != cls {
			return j
		}
		j += n
	}
	return j
}

// contraction returns the end of 's|'t|'re|'ve|'m|'ll|'d after the quote at
// k-1, or 0. fold makes it case-insensitive ((?i:...)): ASCII, plus U+017F
// (long s), which Unicode case folding maps to s.
func contraction(s string, k int, fold bool) int {
	if k >= len(s) {
		return 0
	}
	lower := func(c byte) byte {
		if fold && c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	c := lower(s[k])
	switch c {
	case 's', 't', 'm', 'd':
		return k + 1
	}
	if fold && c == 0xc5 && k+1 < len(s) && s[k+1] == 0xbf {
		return k + 2
	}
	if k+1 < len(s) {
		c2 := lower(s[k+1])
		if (c == 'r' && c2 == 'e') || (c == 'v' && c2 == 'e') || (c == 'l' && c2 == 'l') {
			return k + 2
		}
	}
	return 0
}

// whitespaceEnd matches \s+(?!\S)|\s+ at i, where s[i] is whitespace: the
// whole run at the end of s or before more whitespace, else the run less its
// last rune (which then prefixes the next piece), else the single rune.
func whitespaceEnd(s string, i int) int {
	j, last := i, i
	for j < len(s) {
		_, n, c := classAt(s, j)
		if c != clsSpace {
			break
		}
		last = j
		j += n
	}
	if j == len(s) || last == i {
		return j
	}
	return last
}

// nextGPT2 matches PatternGPT2 at i.
func nextGPT2(s string, i int) int {
	r, n, c := classAt(s, i)
	if r == '\'' {
		if j := contraction(s, i+1, false); j > 0 {
			return j
		}
	}
	j := i + n
	if r == ' ' && j < len(s) {
		if _, n2, c2 := classAt(s, j); c2 != clsSpace {
			c, j = c2, j+n2
		}
	}
	if c != clsSpace {
		return runOf(s, j, c)
	}
	return whitespaceEnd(s, i)
}

// nextCL100K matches PatternLlama3 (maxDigits 3) or PatternQwen2 (maxDigits 1) at i.
func nextCL100K(s string, i int, maxDigits int) int {
	r, n, c := classAt(s, i)
	if r == '\'' {
		if j := contraction(s, i+1, true); j > 0 {
			return j
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c == clsLetter {
		return runOf(s, i+n, clsLetter)
	}
	nextCls := uint8(255)
	n2 := 0
	if i+n < len(s) {
		_, n2, nextCls = classAt(s, i+n)
	}
	if c != clsNumber && r != '\r' && r != '\n' && nextCls == clsLetter {
		return runOf(s, i+n+n2, clsLetter)
	}
	// \p{N}{1,maxDigits}
	if c == clsNumber {
		j := i + n
		for k := 1; k < maxDigits && j < len(s); k++ {
			_, m, d := classAt(s, j)
			if d != clsNumber {
				break
			}
			j += m
		}
		return j
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	if c == clsOther || (r == ' ' && nextCls == clsOther) {
		j := runOf(s, i+n, clsOther)
		for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j
	}
	// \s*[\r\n]+ : up to the last newline of the whitespace run.
	j, nl := i, -1
	for j < len(s) {
		rr, m, d := classAt(s, j)
		if d != clsSpace {
			break
		}
		if rr == '\r' || rr == '\n' {
			nl = j
		}
		j += m
	}
	if nl >= 0 {
		return nl + 1
	}
	return whitespaceEnd(s, i)
}
