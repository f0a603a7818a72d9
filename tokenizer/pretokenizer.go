package tokenizer

// The pre-tokenizer cuts normalized text into pieces that BPE merges
// independently, as Hugging Face's pre_tokenizer does: ByteLevel (GPT-2's
// pattern), Split (a regex or a literal, with the five delimiter behaviors),
// Digits, Punctuation, WhitespaceSplit and Sequence. Pieces keep their
// offsets in the text so that tokens can be mapped back to characters.

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// piece is a pre-token: its text and where it came from.
type piece struct {
	s    string // text of the piece
	base int    // offset in the segment of s's first byte (of s[1:] when ins)
	ins  bool   // s begins with a space that add_prefix_space inserted
}

// pos maps byte k of p.s to an offset in the segment; the inserted space maps
// to a zero-width position.
func (p piece) pos(k int) int {
	if p.ins {
		if k == 0 {
			return p.base
		}
		return p.base + k - 1
	}
	return p.base + k
}

func (p piece) sub(a, b int) piece {
	return piece{s: p.s[a:b], base: p.pos(a), ins: p.ins && a == 0}
}

// preTokenizer splits one piece into smaller ones, in order.
type preTokenizer interface {
	split(p piece, emit func(piece))
}

// behavior is what a Split does with the delimiters it finds.
type behavior uint8

const (
	behRemoved behavior = iota
	behIsolated
	behMergedWithPrevious
	behMergedWithNext
	behContiguous
)

var behaviorNames = map[string]behavior{
	"Removed": behRemoved, "Isolated": behIsolated, "MergedWithPrevious": behMergedWithPrevious,
	"MergedWithNext": behMergedWithNext, "Contiguous": behContiguous,
}

// fastPattern selects a hand-written matcher.
type fastPattern uint8

const (
	fastNone fastPattern = iota
	fastGPT2
	fastLlama3
	fastQwen2
)

func fastPatternOf(pattern string) fastPattern {
	switch pattern {
	case PatternGPT2:
		return fastGPT2
	case PatternLlama3:
		return fastLlama3
	case PatternQwen2:
		return fastQwen2
	}
	return fastNone
}

// splitFast emits the matches of a hand-written pattern, which cover s.
func splitFast(f fastPattern, p piece, emit func(piece)) {
	s := p.s
	for i := 0; i < len(s); {
		var j int
		switch f {
		case fastGPT2:
			j = nextGPT2(s, i)
		case fastLlama3:
			j = nextCL100K(s, i, 3)
		default:
			j = nextCL100K(s, i, 1)
		}
		emit(p.sub(i, j))
		i = j
	}
}

// byteLevelPre is the ByteLevel pre-tokenizer: an optional prefix space, then
// GPT-2's pattern when useRegex. (The byte-to-unicode mapping itself happens
// in the model: pieces stay raw bytes here.)
type byteLevelPre struct {
	addPrefixSpace, useRegex, trimOffsets bool
}

func (b byteLevelPre) split(p piece, emit func(piece)) {
	if b.addPrefixSpace && !strings.HasPrefix(p.s, " ") {
		p = piece{s: " " + p.s, base: p.base, ins: true}
	}
	if !b.useRegex {
		emit(p)
		return
	}
	splitFast(fastGPT2, p, emit)
}

// splitPre is the Split pre-tokenizer.
type splitPre struct {
	fast     fastPattern
	re       *regexp2.Regexp // when the pattern is a regex without a hand-written matcher
	literal  string          // when the pattern is a String
	pattern  string          // as given, for error messages
	isRegex  bool
	behavior behavior
	invert   bool
}

func (sp *splitPre) split(p piece, emit func(piece)) {
	if sp.fast != fastNone && sp.behavior == behIsolated && !sp.invert {
		splitFast(sp.fast, p, emit)
		return
	}
	var matches [][2]int
	switch {
	case sp.fast != fastNone:
		for i := 0; i < len(p.s); {
			var j int
			switch sp.fast {
			case fastGPT2:
				j = nextGPT2(p.s, i)
			case fastLlama3:
				j = nextCL100K(p.s, i, 3)
			default:
				j = nextCL100K(p.s, i, 1)
			}
			matches = append(matches, [2]int{i, j})
			i = j
		}
	case sp.re != nil:
		idx, err := sp.re.FindAllStringIndex(p.s, -1)
		if err != nil {
			// A match that ran out of backtracking stack or time: keep the
			// text whole rather than lose it.
			emit(p)
			return
		}
		for _, m := range idx {
			matches = append(matches, [2]int{m[0], m[1]})
		}
	case sp.literal != "":
		for i := 0; i < len(p.s); {
			k := strings.Index(p.s[i:], sp.literal)
			if k < 0 {
				break
			}
			matches = append(matches, [2]int{i + k, i + k + len(sp.literal)})
			i += k + len(sp.literal)
		}
	}
	applyBehavior(p, matches, sp.behavior, sp.invert, emit)
}

// charSplitPre splits on runes that satisfy pred, each such rune one delimiter.
type charSplitPre struct {
	pred     func(rune) bool
	behavior behavior
}

func (cs charSplitPre) split(p piece, emit func(piece)) {
	var matches [][2]int
	for i := 0; i < len(p.s); {
		r, n := utf8.DecodeRuneInString(p.s[i:])
		if !(r == utf8.RuneError && n == 1) && cs.pred(r) {
			matches = append(matches, [2]int{i, i + n})
		}
		i += n
	}
	applyBehavior(p, matches, cs.behavior, false, emit)
}

// applyBehavior turns delimiter matches into pieces the way Hugging Face's
// SplitDelimiterBehavior does.
func applyBehavior(p piece, matches [][2]int, beh behavior, invert bool, emit func(piece)) {
	type seg struct {
		a, b  int
		delim bool
	}
	segs := make([]seg, 0, 2*len(matches)+1)
	prev := 0
	for _, m := range matches {
		if m[0] == m[1] || m[0] < prev {
			continue
		}
		if m[0] > prev {
			segs = append(segs, seg{prev, m[0], invert})
		}
		segs = append(segs, seg{m[0], m[1], !invert})
		prev = m[1]
	}
	if prev < len(p.s) {
		segs = append(segs, seg{prev, len(p.s), invert})
	}
	var out []seg
	switch beh {
	case behRemoved:
		for _, s := range segs {
			if !s.delim {
				out = append(out, s)
			}
		}
	case behIsolated:
		out = segs
	case behMergedWithPrevious:
		prevDelim := false
		for _, s := range segs {
			if s.delim && !prevDelim && len(out) > 0 {
				out[len(out)-1].b = s.b
			} else {
				out = append(out, s)
			}
			prevDelim = s.delim
		}
	case behMergedWithNext:
		prevDelim := false
		for k := len(segs) - 1; k >= 0; k-- {
			s := segs[k]
			if s.delim && !prevDelim && len(out) > 0 {
				out[len(out)-1].a = s.a
			} else {
				out = append(out, s)
			}
			prevDelim = s.delim
		}
		for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
			out[l], out[r] = out[r], out[l]
		}
	case behContiguous:
		for k, s := range segs {
			if k > 0 && s.delim == segs[k-1].delim {
				out[len(out)-1].b = s.b
			} else {
				out = append(out, s)
			}
		}
	}
	for _, s := range out {
		if s.b > s.a {
			emit(p.sub(s.a, s.b))
		}
	}
}

// seqPre applies its steps in order, each to every piece of the one before.
type seqPre []preTokenizer

func (q seqPre) split(p piece, emit func(piece)) { q.run(0, p, emit) }

func (q seqPre) run(k int, p piece, emit func(piece)) {
	if k == len(q) {
		emit(p)
		return
	}
	q[k].split(p, func(x piece) { q.run(k+1, x, emit) })
}

// noPre leaves text whole (pre_tokenizer null).
type noPre struct{}

func (noPre) split(p piece, emit func(piece)) { emit(p) }

// preTokenizerJSON is any pre_tokenizer object of tokenizer.json.
type preTokenizerJSON struct {
	Type             string             `json:"type"`
	AddPrefixSpace   *bool              `json:"add_prefix_space"`
	TrimOffsets      *bool              `json:"trim_offsets"`
	UseRegex         *bool              `json:"use_regex"`
	Pattern          *patternJSON       `json:"pattern"`
	Behavior         string             `json:"behavior"`
	Invert           bool               `json:"invert"`
	IndividualDigits bool               `json:"individual_digits"`
	PreTokenizers    []preTokenizerJSON `json:"pretokenizers"`
}

type patternJSON struct {
	Regex  *string `json:"Regex"`
	String *string `json:"String"`
}

// regexMatchTimeout bounds one regexp2 match so that a hostile pattern in a
// tokenizer.json cannot hang encoding.
const regexMatchTimeout = 2 * time.Second

// parsePreTokenizer builds a pre-tokenizer from its tokenizer.json object
// (nil or "null": none). byteLevel reports whether a ByteLevel step is present.
func parsePreTokenizer(raw json.RawMessage) (pt preTokenizer, byteLevel bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return noPre{}, false, nil
	}
	var j preTokenizerJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, false, fmt.Errorf("pre_tokenizer: %w", err)
	}
	return buildPreTokenizer(&j, 0)
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func buildPreTokenizer(j *preTokenizerJSON, depth int) (preTokenizer, bool, error) {
	if depth > 32 {
		return nil, false, fmt.Errorf("pre_tokenizer: Sequence nested deeper than 32")
	}
	switch j.Type {
	case "ByteLevel":
		return byteLevelPre{
			addPrefixSpace: boolOr(j.AddPrefixSpace, true),
			useRegex:       boolOr(j.UseRegex, true),
			trimOffsets:    boolOr(j.TrimOffsets, true),
		}, true, nil
	case "Split":
		beh, ok := behaviorNames[j.Behavior]
		if !ok {
			return nil, false, fmt.Errorf("pre_tokenizer Split: unknown behavior %q", j.Behavior)
		}
		sp := &splitPre{behavior: beh, invert: j.Invert}
		switch {
		case j.Pattern != nil && j.Pattern.Regex != nil:
			sp.pattern, sp.isRegex = *j.Pattern.Regex, true
			if sp.fast = fastPatternOf(sp.pattern); sp.fast == fastNone {
				re, err := regexp2.Compile(sp.pattern, regexp2.None)
				if err != nil {
					return nil, false, fmt.Errorf("pre_tokenizer Split: pattern %q: %w", sp.pattern, err)
				}
				re.MatchTimeout = regexMatchTimeout
				sp.re = re
			}
		case j.Pattern != nil && j.Pattern.String != nil:
			sp.pattern, sp.literal = *j.Pattern.String, *j.Pattern.String
		default:
			return nil, false, fmt.Errorf("pre_tokenizer Split: pattern needs Regex or String")
		}
		return sp, false, nil
	case "Digits":
		beh := behContiguous
		if j.IndividualDigits {
			beh = behIsolated
		}
		return charSplitPre{pred: unicode.IsNumber, behavior: beh}, false, nil
	case "Punctuation":
		beh := behIsolated
		if j.Behavior != "" {
			b, ok := behaviorNames[j.Behavior]
			if !ok {
				return nil, false, fmt.Errorf("pre_tokenizer Punctuation: unknown behavior %q", j.Behavior)
			}
			beh = b
		}
		return charSplitPre{pred: isPunctuation, behavior: beh}, false, nil
	case "WhitespaceSplit":
		return charSplitPre{pred: unicode.IsSpace, behavior: behRemoved}, false, nil
	case "Sequence":
		var steps seqPre
		anyByteLevel := false
		for k := range j.PreTokenizers {
			st, bl, err := buildPreTokenizer(&j.PreTokenizers[k], depth+1)
			if err != nil {
				return nil, false, err
			}
			anyByteLevel = anyByteLevel || bl
			// ByteLevel without regex or prefix space only maps bytes, which the
			// model does anyway: dropping it saves a call per piece (Llama-3, Qwen2).
			if b, ok := st.(byteLevelPre); ok && !b.useRegex && !b.addPrefixSpace {
				continue
			}
			steps = append(steps, st)
		}
		switch len(steps) {
		case 0:
			return noPre{}, anyByteLevel, nil
		case 1:
			return steps[0], anyByteLevel, nil
		}
		return steps, anyByteLevel, nil
	case "":
		return nil, false, fmt.Errorf("pre_tokenizer: missing type")
	}
	return nil, false, fmt.Errorf("pre_tokenizer type %q is not supported (byte-level BPE needs ByteLevel, Split, Digits, Punctuation, WhitespaceSplit or Sequence)", j.Type)
}

// isPunctuation is Hugging Face's is_punc: ASCII punctuation or Unicode P*.
func isPunctuation(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') || (r >= '[' && r <= '`') || (r >= '{' && r <= '~')
	}
	return unicode.IsPunct(r)
}
