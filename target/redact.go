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
	re *regexp.Regexp // anchored at the start; nil when there is no secret
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
	return redactor{re: regexp.MustCompile(`^` + b.String()), starts: `\%&+` + string(first)}
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

// redact returns s with every occurrence of the secret, in any encoding,
// replaced by [REDACTED].
func (rd redactor) redact(s string) string {
	if rd.re == nil {
		return s
	}
	var b strings.Builder
	done := 0 // s[:done] is written to b
	for i := 0; i < len(s); {
		j := strings.IndexAny(s[i:], rd.starts)
		if j < 0 {
			break
		}
		i += j
		loc := rd.re.FindStringIndex(s[i:])
		if loc == nil {
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
