package audit

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
)

// Perturbation is a CheckList-style invariance transform of a question:
// the answer must not change. Apply returns the changed text, or ok=false
// when the transform does not apply (no numbers to reformat, say).
type Perturbation struct {
	Name  string
	Apply func(q string, rng *rand.Rand) (string, bool)
}

// Perturbations are the rare-event probe's invariance slices.
var Perturbations = []Perturbation{
	{"typo", typo},
	{"number_format", numberFormat},
	{"number_words", numberWords},
	{"long_context", longContext},
	{"non_ascii", nonASCII},
}

var wordRe = regexp.MustCompile(`\p{L}{4,}`)

// typo swaps two adjacent inner letters in about a third of the longer
// words (at least one).
func typo(q string, rng *rand.Rand) (string, bool) {
	locs := wordRe.FindAllStringIndex(q, -1)
	if len(locs) == 0 {
		return q, false
	}
	pick := map[int]bool{rng.IntN(len(locs)): true}
	for i := range locs {
		if rng.IntN(3) == 0 {
			pick[i] = true
		}
	}
	b := []byte(q)
	changed := false
	for i, l := range locs {
		w := b[l[0]:l[1]]
		if !pick[i] || !isASCII(w) {
			continue
		}
		j := 1 + rng.IntN(len(w)-2)
		if j+1 >= len(w) || w[j] == w[j+1] {
			continue
		}
		w[j], w[j+1] = w[j+1], w[j]
		changed = true
	}
	return string(b), changed
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// numberRe matches a number with its separators: 12, 2.5, 1,500, 1.2.3.
var numberRe = regexp.MustCompile(`\b\d+(?:[.,]\d+)*\b`)

// replaceInts rewrites the plain integers of q with f (whose false leaves
// one as it is). Numbers with a decimal point or separators (2.5, 1,500)
// are left whole: rewriting their parts would change their value.
func replaceInts(q string, f func(n int, m string) (string, bool)) (string, bool) {
	changed := false
	out := numberRe.ReplaceAllStringFunc(q, func(m string) string {
		if strings.ContainsAny(m, ".,") {
			return m
		}
		n, err := strconv.Atoi(m)
		if err != nil {
			return m
		}
		r, ok := f(n, m)
		if !ok {
			return m
		}
		changed = true
		return r
	})
	return out, changed
}

// numberFormat writes integers differently: thousands separators from
// 1,000 up, a decimal ".0" below.
func numberFormat(q string, _ *rand.Rand) (string, bool) {
	return replaceInts(q, func(n int, m string) (string, bool) {
		if n >= 1000 {
			return groupThousands(n), true
		}
		return m + ".0", true
	})
}

func groupThousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// numberWords spells integers below a million in English words.
func numberWords(q string, _ *rand.Rand) (string, bool) {
	return replaceInts(q, func(n int, _ string) (string, bool) {
		if n >= 1_000_000 {
			return "", false
		}
		return NumberWords(n), true
	})
}

var (
	ones = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
		"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	tens = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
)

// NumberWords spells 0 <= n < 1,000,000 in English ("four hundred
// twenty-one").
func NumberWords(n int) string {
	switch {
	case n < 20:
		return ones[n]
	case n < 100:
		if n%10 == 0 {
			return tens[n/10]
		}
		return tens[n/10] + "-" + ones[n%10]
	case n < 1000:
		if n%100 == 0 {
			return ones[n/100] + " hundred"
		}
		return ones[n/100] + " hundred " + NumberWords(n%100)
	default:
		if n%1000 == 0 {
			return NumberWords(n/1000) + " thousand"
		}
		return NumberWords(n/1000) + " thousand " + NumberWords(n%1000)
	}
}

var filler = []string{
	"The committee met on Tuesday to review the quarterly maintenance schedule for the east wing.",
	"Several volunteers reported that the community garden needs new fencing before spring.",
	"The library will extend its opening hours during the exam period next month.",
	"A local bakery introduced a rye loaf that sold out within an hour of opening.",
	"Road works on the northern bypass are expected to continue until the end of the season.",
	"The museum's new exhibition features maps drawn by sailors in the eighteenth century.",
	"Members were reminded to return borrowed equipment to the storage room by Friday.",
	"The weather service forecasts light rain in the morning and clear skies later in the day.",
}

// longContext buries the question after about 1,500 characters of
// unrelated notes.
func longContext(q string, rng *rand.Rand) (string, bool) {
	var b strings.Builder
	b.WriteString("Here are some notes from my files; they are not related to my question.\n\n")
	for b.Len() < 1500 {
		b.WriteString(filler[rng.IntN(len(filler))])
		b.WriteByte(' ')
	}
	b.WriteString("\n\nNow my actual question: ")
	b.WriteString(q)
	return b.String(), true
}

// nonASCII keeps the meaning but not the bytes: no-break spaces, curly
// quotes, a full-width question mark and an emoji.
func nonASCII(q string, _ *rand.Rand) (string, bool) {
	r := strings.NewReplacer(" ", "\u00a0", "'", "\u2019", "\"", "\u201c", "?", "\uff1f")
	out := "🙂 " + r.Replace(q)
	return out, out != q
}
