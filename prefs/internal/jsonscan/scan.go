// Package jsonscan validates one JSON document and splits a top-level object
// into raw key/value slices without building a tree.
//
// The preference readers touch only a handful of fields per row, so a full
// encoding/json decode into maps (which allocates every value) is the cost we
// avoid: Object validates the whole line strictly (RFC 8259) in one pass and
// hands back slices into the caller's buffer; String unquotes only the values
// that are used. This is not a general JSON library.
package jsonscan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Field is one top-level member of an object: Key is the raw key (without
// quotes, escapes not resolved), Value the raw JSON value.
type Field struct {
	Key   []byte
	Value []byte
}

// Kind is the type of a raw JSON value, from its first byte.
type Kind byte

// Kinds of JSON values.
const (
	KindInvalid Kind = iota
	KindNull
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

func (k Kind) String() string {
	return [...]string{"invalid", "null", "bool", "number", "string", "array", "object"}[k]
}

// KindOf reports the kind of a raw JSON value that Object returned.
func KindOf(v []byte) Kind {
	if len(v) == 0 {
		return KindInvalid
	}
	switch v[0] {
	case 'n':
		return KindNull
	case 't', 'f':
		return KindBool
	case '"':
		return KindString
	case '[':
		return KindArray
	case '{':
		return KindObject
	}
	return KindNumber
}

// SyntaxError is a malformed document; Offset is the byte where it was found.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset) }

// maxDepth bounds nesting so that a hostile line cannot exhaust the stack.
const maxDepth = 512

type scanner struct {
	b     []byte
	i     int
	depth int
}

func (s *scanner) fail(msg string) error { return &SyntaxError{Offset: s.i, Msg: msg} }

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// Object validates b as exactly one JSON object (surrounding whitespace
// allowed) and appends its members to dst. Duplicate keys are kept in order;
// Get returns the last one, as encoding/json would.
func Object(b []byte, dst []Field) ([]Field, error) {
	s := scanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return dst, s.fail("expected a JSON object")
	}
	s.i++
	s.ws()
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
	} else {
		for {
			s.ws()
			if s.i >= len(b) || b[s.i] != '"' {
				return dst, s.fail("expected a string key")
			}
			ks := s.i
			if err := s.str(); err != nil {
				return dst, err
			}
			key := b[ks+1 : s.i-1]
			s.ws()
			if s.i >= len(b) || b[s.i] != ':' {
				return dst, s.fail("expected ':'")
			}
			s.i++
			s.ws()
			vs := s.i
			if err := s.value(); err != nil {
				return dst, err
			}
			dst = append(dst, Field{Key: key, Value: b[vs:s.i]})
			s.ws()
			if s.i >= len(b) {
				return dst, s.fail("unexpected end of object")
			}
			if b[s.i] == ',' {
				s.i++
				continue
			}
			if b[s.i] == '}' {
				s.i++
				break
			}
			return dst, s.fail("expected ',' or '}'")
		}
	}
	s.ws()
	if s.i != len(b) {
		return dst, s.fail("trailing data after object")
	}
	return dst, nil
}

// Valid reports whether b is exactly one valid JSON value.
func Valid(b []byte) bool {
	s := scanner{b: b}
	s.ws()
	if s.value() != nil {
		return false
	}
	s.ws()
	return s.i == len(b)
}

func (s *scanner) value() error {
	if s.i >= len(s.b) {
		return s.fail("unexpected end of input")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		return s.container('}', true)
	case c == '[':
		return s.container(']', false)
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.num()
	}
	return s.fail("invalid character")
}

func (s *scanner) lit(w string) error {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return s.fail("invalid literal")
	}
	s.i += len(w)
	return nil
}

func (s *scanner) container(end byte, obj bool) error {
	s.depth++
	if s.depth > maxDepth {
		return s.fail("nesting too deep")
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == end {
		s.i++
		s.depth--
		return nil
	}
	for {
		s.ws()
		if obj {
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return s.fail("expected a string key")
			}
			if err := s.str(); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return s.fail("expected ':'")
			}
			s.i++
			s.ws()
		}
		if err := s.value(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unexpected end of input")
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.b[s.i] == end {
			s.i++
			s.depth--
			return nil
		}
		return s.fail("expected ',' or closing bracket")
	}
}

func (s *scanner) str() error {
	s.i++ // opening quote
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return s.fail("unexpected end of string")
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return s.fail("short \\u escape")
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHex(h) {
						return s.fail("invalid \\u escape")
					}
				}
				s.i += 6
			default:
				return s.fail("invalid escape")
			}
		case c < 0x20:
			return s.fail("control character in string")
		default:
			s.i++
		}
	}
	return s.fail("unterminated string")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (s *scanner) num() error {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return s.fail("invalid number")
	}
	if s.b[s.i] == '0' {
		s.i++
	} else if s.b[s.i] >= '1' && s.b[s.i] <= '9' {
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
	} else {
		return s.fail("invalid number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		d := s.i
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
		if s.i == d {
			return s.fail("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		d := s.i
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
		if s.i == d {
			return s.fail("invalid number")
		}
	}
	if s.i == start {
		return s.fail("invalid number")
	}
	return nil
}

// Get returns the value of the last member named key, and whether it exists.
// Keys are compared raw (an escaped key never matches a plain name).
func Get(fields []Field, key string) ([]byte, bool) {
	for i := len(fields) - 1; i >= 0; i-- {
		if string(fields[i].Key) == key {
			return fields[i].Value, true
		}
	}
	return nil, false
}

// ErrNotString is returned by String for a value that is not a JSON string.
var ErrNotString = errors.New("not a string")

// String unquotes a raw JSON string value that Object or Array has already
// validated. The common case (no escapes) is one copy; StringNoCopy avoids
// even that.
func String(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", ErrNotString
	}
	in := v[1 : len(v)-1]
	esc := false
	for _, c := range in {
		if c == '\\' {
			esc = true
			break
		}
	}
	if !esc {
		return string(in), nil
	}
	return unescape(in)
}

// StringNoCopy is String without the copy when the value has no escapes:
// the result shares v's memory, so the caller must never modify v's buffer
// while the string is in use.
func StringNoCopy(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", ErrNotString
	}
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') < 0 {
		if len(in) == 0 {
			return "", nil
		}
		return unsafe.String(&in[0], len(in)), nil
	}
	return unescape(in)
}

func unescape(in []byte) (string, error) {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(in) {
			return "", ErrNotString
		}
		switch in[i+1] {
		case '"', '\\', '/':
			out = append(out, in[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+6 > len(in) {
				return "", ErrNotString
			}
			r, err := strconv.ParseUint(string(in[i+2:i+6]), 16, 32)
			if err != nil {
				return "", ErrNotString
			}
			i += 6
			rr := rune(r)
			if utf16.IsSurrogate(rr) {
				// A high surrogate pairs with a following \uXXXX low one;
				// an unpaired one becomes U+FFFD, as in encoding/json.
				if i+6 <= len(in) && in[i] == '\\' && in[i+1] == 'u' {
					if r2, err := strconv.ParseUint(string(in[i+2:i+6]), 16, 32); err == nil {
						if d := utf16.DecodeRune(rr, rune(r2)); d != utf8.RuneError {
							out = utf8.AppendRune(out, d)
							i += 6
							continue
						}
					}
				}
				rr = utf8.RuneError
			}
			out = utf8.AppendRune(out, rr)
			continue
		default:
			return "", ErrNotString
		}
		i += 2
	}
	return string(out), nil
}

// Array splits a raw JSON array value (already validated) into its elements,
// appended to dst.
func Array(v []byte, dst [][]byte) ([][]byte, error) {
	s := scanner{b: v}
	s.ws()
	if s.i >= len(v) || v[s.i] != '[' {
		return dst, s.fail("expected an array")
	}
	s.i++
	s.ws()
	if s.i < len(v) && v[s.i] == ']' {
		return dst, nil
	}
	for {
		s.ws()
		st := s.i
		if err := s.value(); err != nil {
			return dst, err
		}
		dst = append(dst, v[st:s.i])
		s.ws()
		if s.i >= len(v) {
			return dst, s.fail("unexpected end of array")
		}
		if v[s.i] == ',' {
			s.i++
			continue
		}
		if v[s.i] == ']' {
			return dst, nil
		}
		return dst, s.fail("expected ',' or ']'")
	}
}

// Float parses a raw JSON number.
func Float(v []byte) (float64, error) {
	return strconv.ParseFloat(string(v), 64)
}
