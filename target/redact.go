package target

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// redactor blanks a secret out of text that may hold it encoded: servers
// and gateways echo a key JSON-escaped (PHP writes "/" as "\/", others
// "+" as "\u002b"), URL-encoded or as HTML entities, and any mix of those
// within one key, so no list of whole-key variants can cover it. Instead
// each character of the key matches any of its encodings, repeated
// backslashes included (a JSON string inside a JSON string).
type redactor struct {
	secret string
	re     *regexp.Regexp // anchored at the start; nil when there is no secret
	// starts holds the bytes a match can begin with: the secret's first
	// byte and those that begin an encoding. The anchored pattern is tried
	// only there, which keeps a scan of a long reply cheap (an unanchored
	// search runs every alternative of every character at every byte).
	starts string
}

// redacted replaces a secret found in text.
const redacted = "[REDACTED]"

// newRedactor returns a redactor for secret; for "" one that changes
// nothing.
func newRedactor(secret string) redactor {
	if secret == "" {
		return redactor{}
	}
	var b strings.Builder
	for _, r := range secret {
		b.WriteString("(?:")
		b.WriteString(strings.Join(encodings(r), "|"))
		b.WriteString(")")
	}
	first, _ := utf8.DecodeRuneInString(secret)
	return redactor{secret: secret, re: regexp.MustCompile(`^` + b.String()), starts: `\%&+` + string(first)}
}

// encodings returns the patterns a rune may be written as.
func encodings(r rune) []string {
	alts := []string{regexp.QuoteMeta(string(r))}
	if r == utf8.RuneError {
		return alts
	}
	ci := func(s string) string { return "(?i:" + s + ")" }
	// JSON: \uXXXX (a surrogate pair beyond the BMP), behind any number of
	// backslashes, and the short escapes.
	if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
		alts = append(alts, `\\+u`+ci(fmt.Sprintf("%04x", r1))+`\\+u`+ci(fmt.Sprintf("%04x", r2)))
	} else {
		alts = append(alts, `\\+u`+ci(fmt.Sprintf("%04x", r)))
	}
	switch r {
	case '/', '"':
		alts = append(alts, `\\+`+regexp.QuoteMeta(string(r)))
	case '\\':
		alts = append(alts, `\\+`)
	case ' ':
		alts = append(alts, `\+`) // form encoding
	}
	// URL encoding, also twice over (%252F).
	var pct strings.Builder
	for _, c := range []byte(string(r)) {
		pct.WriteString("%(?:25)?" + ci(fmt.Sprintf("%02x", c)))
	}
	alts = append(alts, pct.String())
	// HTML numeric entities (html/template writes "+" as "&#43;").
	alts = append(alts, `&#0*`+strconv.Itoa(int(r))+`;`, `&#[xX]0*`+ci(strconv.FormatInt(int64(r), 16))+`;`)
	switch r {
	case '&':
		alts = append(alts, `&amp;`)
	case '<':
		alts = append(alts, `&lt;`)
	case '>':
		alts = append(alts, `&gt;`)
	case '"':
		alts = append(alts, `&quot;`)
	}
	return alts
}

// mayStart is a cheap test for whether the secret can start at s[0]: an
// encoding's first byte, or the secret's own first byte followed by its
// second or by an encoding's first byte. It spares the pattern most of
// the places where prose merely holds the secret's first letter.
func (rd redactor) mayStart(s string) bool {
	const encStart = `\%&+`
	if strings.IndexByte(encStart, s[0]) >= 0 || len(s) < 2 {
		return true
	}
	first, n := utf8.DecodeRuneInString(rd.secret)
	if n != 1 || len(rd.secret) < 2 || byte(first) != s[0] {
		return true
	}
	return s[1] == rd.secret[1] || strings.IndexByte(encStart, s[1]) >= 0
}

// redact returns s with every occurrence of the secret, in any encoding,
// replaced by [REDACTED].
func (rd redactor) redact(s string) string {
	if rd.re == nil {
		return s
	}
	// Every encoding starts with one of these bytes: text without them
	// can hold the secret only as itself.
	if !strings.ContainsAny(s, `\%&+`) {
		return strings.ReplaceAll(s, rd.secret, redacted)
	}
	var b strings.Builder
	done := 0 // s[:done] is written to b
	for i := 0; i < len(s); {
		j := strings.IndexAny(s[i:], rd.starts)
		if j < 0 {
			break
		}
		i += j
		if !rd.mayStart(s[i:]) {
			i++
			continue
		}
		loc := rd.re.FindStringIndex(s[i:])
		if loc == nil {
			// Each encoding takes any number of leading backslashes, so
			// no match starts later in a run of them that failed from
			// its first: skip the run, or a long one is quadratic.
			if s[i] == '\\' {
				for i < len(s) && s[i] == '\\' {
					i++
				}
				continue
			}
			i++
			continue
		}
		b.WriteString(s[done:i])
		b.WriteString(redacted)
		i += loc[1]
		done = i
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}
