package tokenizer

// Checking a chat template's Jinja syntax on its own, apart from
// compiling it. The engine (github.com/ardanlabs/jinja) does not implement
// all of Jinja, so a template it cannot compile may still be a good one
// for transformers: such a model loads, and the error comes when the
// template is used. A template that is not Jinja at all (a tag left open,
// a block never closed, an end tag with nothing to close) is broken for
// every engine, and Load refuses it, naming the file, instead of every
// conversation failing later with an error that points elsewhere.

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// jinjaBlocks are the statements that open a block closed by "end" plus
// their name. A set opens one only without "=" (checked apart).
var jinjaBlocks = map[string]bool{
	"for": true, "if": true, "macro": true, "call": true, "filter": true, "block": true,
	"with": true, "autoescape": true, "generation": true,
}

// jinjaStatements are the other statements of Jinja as transformers runs
// chat templates: Jinja's own and the loop controls it enables (its
// {% generation %} is a block, above). Jinja refuses any other tag when it
// compiles the template.
var jinjaStatements = map[string]bool{
	"elif": true, "else": true, "set": true, "raw": true, "extends": true, "print": true,
	"include": true, "from": true, "import": true, "break": true, "continue": true,
}

// endRaw finds the tag that ends a {% raw %} block.
var endRaw = regexp.MustCompile(`\{%[-+]?\s*endraw\s*[-+]?%\}`)

// checkJinjaSyntax reports the first structural error in a Jinja
// template, with its line: a tag or comment not closed, an empty
// statement or expression, a for without "in", a block not closed, or an
// end, else or elif that matches no open block. Expressions are left to
// the engine.
func checkJinjaSyntax(src string) error {
	type block struct {
		name string
		line int
	}
	var open []block
	line := 1
	for i := 0; ; {
		j := nextTag(src, i)
		if j < 0 {
			break
		}
		line += strings.Count(src[i:j], "\n")
		kind := src[j+1]
		closer := "}}"
		if kind != '{' {
			closer = string(kind) + "}"
		}
		var end int
		var err error
		if kind == '#' {
			// A comment is text up to its end: no strings, no brackets.
			k := strings.Index(src[j+2:], closer)
			if k < 0 {
				err = errNotClosed
			}
			end = j + 2 + k + 2
		} else {
			end, err = tagEnd(src, j+2, closer)
		}
		// Templates in tokenizer_config.json are often one long line.
		col := j - strings.LastIndexByte(src[:j], '\n')
		if err == errNotClosed {
			return fmt.Errorf("line %d, column %d: the %s opened here is never closed (no %s)", line, col, src[j:j+2], closer)
		}
		if err != nil {
			return fmt.Errorf("line %d: %v in the %s tag at column %d", line, err, src[j:j+2], col)
		}
		body := strings.TrimSpace(trimMarks(src[j+2 : end-2]))
		tagLine := line
		line += strings.Count(src[j:end], "\n")
		i = end
		switch kind {
		case '{':
			if body == "" {
				return fmt.Errorf("line %d: empty {{ }}", tagLine)
			}
			continue
		case '#':
			continue
		}
		kw, rest := statement(body)
		switch {
		case kw == "":
			return fmt.Errorf("line %d: {%% %s %%} is not a statement", tagLine, body)
		case kw == "raw":
			loc := endRaw.FindStringIndex(src[i:])
			if loc == nil {
				return fmt.Errorf("line %d: {%% raw %%} is never closed (no {%% endraw %%})", tagLine)
			}
			line += strings.Count(src[i:i+loc[1]], "\n")
			i += loc[1]
		case kw == "for" && !hasWord(rest, "in"):
			return fmt.Errorf("line %d: {%% %s %%} has no \"in\"", tagLine, body)
		case jinjaBlocks[kw] || kw == "set" && blockSet(rest):
			open = append(open, block{kw, tagLine})
		case kw == "elif" || kw == "else":
			in := ""
			if n := len(open); n > 0 {
				in = open[n-1].name
			}
			if kw == "elif" && in != "if" {
				return fmt.Errorf("line %d: {%% elif %%} outside an if block", tagLine)
			}
			if kw == "else" && in != "if" && in != "for" {
				return fmt.Errorf("line %d: {%% else %%} outside an if or for block", tagLine)
			}
		case strings.HasPrefix(kw, "end") && (jinjaBlocks[kw[3:]] || kw == "endset"):
			n := len(open)
			if n == 0 {
				return fmt.Errorf("line %d: {%% %s %%} closes nothing", tagLine, kw)
			}
			if top := open[n-1]; "end"+top.name != kw {
				return fmt.Errorf("line %d: {%% %s %%} where {%% end%s %%} was due (for the {%% %s %%} of line %d)", tagLine, kw, top.name, top.name, top.line)
			}
			open = open[:n-1]
		case !jinjaStatements[kw]:
			return fmt.Errorf("line %d: {%% %s %%} is no Jinja statement", tagLine, kw)
		}
	}
	if n := len(open); n > 0 {
		b := open[n-1]
		return fmt.Errorf("line %d: {%% %s %%} is never closed (no {%% end%s %%})", b.line, b.name, b.name)
	}
	return nil
}

// nextTag is the index of the next "{{", "{%" or "{#" at or after i, or -1.
func nextTag(src string, i int) int {
	for {
		k := strings.IndexByte(src[i:], '{')
		if k < 0 || i+k+1 >= len(src) {
			return -1
		}
		i += k
		if c := src[i+1]; c == '{' || c == '%' || c == '#' {
			return i
		}
		i++
	}
}

// errNotClosed is tagEnd's error for a tag that runs to the end.
var errNotClosed = errors.New("not closed")

// tagEnd finds the end of a tag whose body starts at i: just past closer
// ("}}" or "%}"), lexing as Jinja does. Quoted strings may hold the
// closer, and so may brackets: Jinja ends a tag only where its brackets
// balance ({{ {'a': 1}}} is one tag), and refuses a bracket that closes
// the wrong one.
func tagEnd(src string, i int, closer string) (int, error) {
	var due []byte // closing brackets owed, innermost last
	for ; i < len(src); i++ {
		switch c := src[i]; c {
		case '\'', '"':
			for i++; i < len(src) && src[i] != c; i++ {
				if src[i] == '\\' {
					i++
				}
			}
			if i >= len(src) {
				return 0, errNotClosed
			}
		case '(':
			due = append(due, ')')
		case '[':
			due = append(due, ']')
		case '{':
			due = append(due, '}')
		case ')', ']', '}':
			if len(due) == 0 && strings.HasPrefix(src[i:], closer) {
				return i + 2, nil
			}
			n := len(due)
			if n == 0 {
				return 0, fmt.Errorf("unexpected %q", c)
			}
			if due[n-1] != c {
				return 0, fmt.Errorf("unexpected %q where %q was due", c, due[n-1])
			}
			due = due[:n-1]
		case '%':
			if len(due) == 0 && strings.HasPrefix(src[i:], closer) {
				return i + 2, nil
			}
		}
	}
	return 0, errNotClosed
}

// trimMarks removes the whitespace-control marks ("-" or "+") just inside
// a tag's delimiters.
func trimMarks(s string) string {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if s != "" && (s[len(s)-1] == '-' || s[len(s)-1] == '+') {
		s = s[:len(s)-1]
	}
	return s
}

// statement splits a statement body into its keyword and the rest; the
// keyword is "" when the body does not start with a name.
func statement(body string) (kw, rest string) {
	n := 0
	for n < len(body) && (body[n] == '_' || 'a' <= body[n] && body[n] <= 'z' || 'A' <= body[n] && body[n] <= 'Z' || n > 0 && '0' <= body[n] && body[n] <= '9') {
		n++
	}
	return body[:n], strings.TrimSpace(body[n:])
}

// outsideQuotes is s with quoted strings blanked, so that a search for
// syntax does not find it in a literal.
func outsideQuotes(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if q := b[i]; q == '\'' || q == '"' {
			for i++; i < len(b) && b[i] != q; i++ {
				if b[i] == '\\' && i+1 < len(b) {
					b[i] = ' '
					i++
				}
				b[i] = ' '
			}
		}
	}
	return string(b)
}

// hasWord reports whether the word w appears in s outside quotes.
func hasWord(s, w string) bool {
	for _, f := range strings.FieldsFunc(outsideQuotes(s), func(r rune) bool {
		return !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) {
		if f == w {
			return true
		}
	}
	return false
}

// blockSet reports whether a set statement's rest opens a block
// ({% set x %}...{% endset %}, or {% set x | filter %}) rather than
// assigning ({% set x = ... %}).
func blockSet(rest string) bool {
	s := outsideQuotes(rest)
	if k := strings.IndexByte(s, '|'); k >= 0 {
		s = s[:k]
	}
	return !strings.Contains(s, "=")
}
