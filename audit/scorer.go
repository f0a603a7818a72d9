package audit

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Score is a scorer's verdict on one response.
type Score struct {
	// Value is 1 for correct, 0 for incorrect (judges may give fractions).
	Value float64 `json:"value"`
	// Answer is what the scorer read as the response's answer.
	Answer string `json:"answer"`
}

// Correct reports whether the score counts as a pass.
func (s Score) Correct() bool { return s.Value >= 0.5 }

// Scorer judges a response to a sample (inspect_ai's scorer).
type Scorer interface {
	Name() string
	Score(ctx context.Context, s Sample, output string) (Score, error)
}

// ScorerNames lists the built-in scorers for flags and help text.
var ScorerNames = []string{"auto", "exact", "normalized", "includes", "numeric", "regex", "choice", "judge"}

// ScorerByName returns a built-in scorer. "judge" needs a judge (nil
// otherwise gives an error); "auto" picks per sample: numeric for numeric
// targets, choice for multiple-choice samples, normalized otherwise.
func ScorerByName(name string, judge *Judge) (Scorer, error) {
	switch name {
	case "", "auto":
		return autoScorer{}, nil
	case "exact":
		return exactScorer{}, nil
	case "normalized", "match":
		return normalizedScorer{}, nil
	case "includes":
		return includesScorer{}, nil
	case "numeric":
		return numericScorer{}, nil
	case "regex":
		return &regexScorer{}, nil
	case "choice":
		return choiceScorer{}, nil
	case "judge":
		if judge == nil {
			return nil, fmt.Errorf("scorer %q needs a judge model (--judge-target and --judge-model)", name)
		}
		return judge, nil
	}
	return nil, fmt.Errorf("unknown scorer %q (have %s)", name, strings.Join(ScorerNames, ", "))
}

// accepted returns the target and its aliases.
func accepted(s Sample) []string { return append([]string{s.Target}, s.Aliases...) }

type exactScorer struct{}

func (exactScorer) Name() string { return "exact" }
func (exactScorer) Score(_ context.Context, s Sample, out string) (Score, error) {
	got := strings.TrimSpace(out)
	for _, a := range accepted(s) {
		if got == strings.TrimSpace(a) {
			return Score{1, got}, nil
		}
	}
	return Score{0, got}, nil
}

// Normalize lowercases, drops punctuation and the articles a/an/the, and
// collapses white space (the SQuAD answer normalisation).
func Normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		case unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r):
			b.WriteByte(' ')
		}
	}
	fields := strings.Fields(b.String())
	out := fields[:0]
	for _, f := range fields {
		if f != "a" && f != "an" && f != "the" {
			out = append(out, f)
		}
	}
	return strings.Join(out, " ")
}

var finalRe = regexp.MustCompile(`(?i)(?:final answer|answer is|answer)\s*(?:is|:|=)?\s*`)

// FinalAnswer returns the text after the last "answer is"/"Answer:" marker
// up to the end of its line, or the whole response when there is none.
func FinalAnswer(out string) string {
	locs := finalRe.FindAllStringIndex(out, -1)
	if len(locs) == 0 {
		return strings.TrimSpace(out)
	}
	rest := out[locs[len(locs)-1][1]:]
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	return strings.TrimSpace(strings.TrimRight(strings.TrimSpace(rest), ".!"))
}

type normalizedScorer struct{}

func (normalizedScorer) Name() string { return "normalized" }
func (normalizedScorer) Score(_ context.Context, s Sample, out string) (Score, error) {
	ans := FinalAnswer(out)
	na, nw := Normalize(ans), Normalize(out)
	for _, a := range accepted(s) {
		if n := Normalize(a); n != "" && (n == na || n == nw) {
			return Score{1, ans}, nil
		}
	}
	return Score{0, ans}, nil
}

type includesScorer struct{}

func (includesScorer) Name() string { return "includes" }
func (includesScorer) Score(_ context.Context, s Sample, out string) (Score, error) {
	hay := " " + Normalize(out) + " "
	for _, a := range accepted(s) {
		if n := Normalize(a); n != "" && strings.Contains(hay, " "+n+" ") {
			return Score{1, a}, nil
		}
	}
	return Score{0, FinalAnswer(out)}, nil
}

var numRe = regexp.MustCompile(`[-+]?\d[\d,]*(?:\.\d+)?`)

// ExtractNumber reads a response's numeric answer: the first number after
// the last "answer is"/"Answer:" marker, else the last number.
func ExtractNumber(out string) (float64, string, bool) {
	if locs := finalRe.FindAllStringIndex(out, -1); len(locs) > 0 {
		if m := numRe.FindString(out[locs[len(locs)-1][1]:]); m != "" {
			if v, ok := parseNum(m); ok {
				return v, m, true
			}
		}
	}
	all := numRe.FindAllString(out, -1)
	for i := len(all) - 1; i >= 0; i-- {
		if v, ok := parseNum(all[i]); ok {
			return v, all[i], true
		}
	}
	return 0, "", false
}

func parseNum(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimRight(s, ","), ",", ""), 64)
	return v, err == nil
}

type numericScorer struct{}

func (numericScorer) Name() string { return "numeric" }
func (numericScorer) Score(_ context.Context, s Sample, out string) (Score, error) {
	got, raw, ok := ExtractNumber(out)
	if !ok {
		return Score{0, ""}, nil
	}
	for _, a := range accepted(s) {
		want, ok := parseNum(strings.TrimSpace(a))
		if ok && math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) {
			return Score{1, raw}, nil
		}
	}
	return Score{0, raw}, nil
}

// regexScorer treats the sample's target as a regular expression that a
// correct response matches.
type regexScorer struct{ cache sync.Map }

func (*regexScorer) Name() string { return "regex" }
func (r *regexScorer) Score(_ context.Context, s Sample, out string) (Score, error) {
	var re *regexp.Regexp
	if v, ok := r.cache.Load(s.Target); ok {
		re = v.(*regexp.Regexp)
	} else {
		var err error
		if re, err = regexp.Compile(s.Target); err != nil {
			return Score{}, fmt.Errorf("sample %s: target is not a valid regular expression: %w", s.ID, err)
		}
		r.cache.Store(s.Target, re)
	}
	if m := re.FindString(out); m != "" || re.MatchString(out) {
		return Score{1, m}, nil
	}
	return Score{0, FinalAnswer(out)}, nil
}

var (
	choiceAnswerRe = regexp.MustCompile(`(?i)answer\s*(?:is|:)?\s*\(?([A-J])\b\)?`)
	choiceLeadRe   = regexp.MustCompile(`^\s*\(?([A-J])(?:[).:\s]|$)`)
	choiceParenRe  = regexp.MustCompile(`\(([A-J])\)`)
)

// ExtractChoice reads a multiple-choice letter from a response.
func ExtractChoice(out string) string {
	if m := choiceAnswerRe.FindAllStringSubmatch(out, -1); len(m) > 0 {
		return strings.ToUpper(m[len(m)-1][1])
	}
	if m := choiceLeadRe.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	if m := choiceParenRe.FindAllStringSubmatch(out, -1); len(m) > 0 {
		return m[len(m)-1][1]
	}
	return ""
}

// choiceLetter returns the letter of a target given as a letter or as the
// text of one of the choices.
func choiceLetter(s Sample, t string) string {
	t = strings.TrimSpace(strings.Trim(strings.TrimSpace(t), "()"))
	if len(t) == 1 && t[0] >= 'A' && t[0] <= 'J' {
		return t
	}
	for i, c := range s.Choices {
		if Normalize(c) == Normalize(t) && i < 10 {
			return string(rune('A' + i))
		}
	}
	return ""
}

type choiceScorer struct{}

func (choiceScorer) Name() string { return "choice" }
func (choiceScorer) Score(_ context.Context, s Sample, out string) (Score, error) {
	got := ExtractChoice(out)
	want := choiceLetter(s, s.Target)
	if want == "" {
		return Score{}, fmt.Errorf("sample %s: target %q is neither a letter nor one of the choices", s.ID, s.Target)
	}
	return Score{b2f(got == want), got}, nil
}

type autoScorer struct{}

func (autoScorer) Name() string { return "auto" }
func (autoScorer) Score(ctx context.Context, s Sample, out string) (Score, error) {
	return pickScorer(s).Score(ctx, s, out)
}

// pickScorer is the auto scorer's choice for one sample.
func pickScorer(s Sample) Scorer {
	if len(s.Choices) > 0 && choiceLetter(s, s.Target) != "" {
		return choiceScorer{}
	}
	if _, ok := parseNum(strings.TrimSpace(s.Target)); ok && numRe.FindString(s.Target) == strings.TrimSpace(s.Target) {
		return numericScorer{}
	}
	return normalizedScorer{}
}

// sampleScorer resolves the scorer for s: its own, else def.
func sampleScorer(s Sample, def Scorer, judge *Judge) (Scorer, error) {
	if s.Scorer == "" {
		return def, nil
	}
	return ScorerByName(s.Scorer, judge)
}
