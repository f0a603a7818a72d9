package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// mergeList is the merges array, parsed by hand: a Llama-3 file has 280,000
// of them, and reflection per element doubled the load time.
type mergeList [][2]string

func (ml *mergeList) UnmarshalJSON(b []byte) error {
	p := jsonScanner{b: b}
	if p.skip(); !p.eat('[') {
		return fmt.Errorf("merges must be a list")
	}
	out := make([][2]string, 0, bytes.Count(b, []byte{'"'})/2)
	if p.skip(); p.eat(']') {
		*ml = out
		return nil
	}
	for {
		var m [2]string
		p.skip()
		switch {
		case p.peek('"'):
			s, err := p.str()
			if err != nil {
				return err
			}
			a, c, ok := strings.Cut(s, " ")
			if !ok {
				return fmt.Errorf("merge %q is not two tokens separated by a space", s)
			}
			m = [2]string{a, c}
		case p.eat('['):
			for k := 0; k < 2; k++ {
				if p.skip(); k == 1 && !p.eat(',') {
					return fmt.Errorf("merge %d: want [a, b]", len(out))
				}
				p.skip()
				s, err := p.str()
				if err != nil {
					return fmt.Errorf("merge %d: %w", len(out), err)
				}
				m[k] = s
			}
			if p.skip(); !p.eat(']') {
				return fmt.Errorf("merge %d: want [a, b]", len(out))
			}
		default:
			return fmt.Errorf("merge %d must be \"a b\" or [a, b]", len(out))
		}
		out = append(out, m)
		p.skip()
		if p.eat(']') {
			*ml = out
			return nil
		}
		if !p.eat(',') {
			return fmt.Errorf("merges: want , or ] after merge %d", len(out)-1)
		}
	}
}

// jsonScanner reads the few JSON shapes mergeList needs; the input is
// already known to be valid JSON (encoding/json checks it first).
type jsonScanner struct {
	b []byte
	i int
}

func (p *jsonScanner) skip() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonScanner) peek(c byte) bool { return p.i < len(p.b) && p.b[p.i] == c }

func (p *jsonScanner) eat(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

// str reads a JSON string; strings with escapes go through encoding/json.
func (p *jsonScanner) str() (string, error) {
	if !p.peek('"') {
		return "", fmt.Errorf("want a string at byte %d", p.i)
	}
	start, escaped := p.i, false
	for j := p.i + 1; j < len(p.b); j++ {
		switch p.b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			p.i = j + 1
			if !escaped {
				return string(p.b[start+1 : j]), nil
			}
			var s string
			err := json.Unmarshal(p.b[start:j+1], &s)
			return s, err
		}
	}
	return "", fmt.Errorf("unterminated string")
}
