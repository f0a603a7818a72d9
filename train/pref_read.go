// Reading preference data files for the DPO family through the prefs
// readers (TRL's prompt/chosen/rejected, standard or conversational, with
// implicit prompts; also HH-RLHF, UltraFeedback and the other formats prefs
// knows), with every unusable row counted, reported as file:line and skipped.

package train

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/prefs"
)

// DataReport says what a loader kept and what it skipped, and why.
type DataReport struct {
	Rows int `json:"rows"`
	Kept int `json:"kept"`
	// Skipped counts skipped rows by reason.
	Skipped map[string]int `json:"skipped,omitempty"`
	// Truncated counts rows cut to max_length (SFT).
	Truncated int `json:"truncated,omitempty"`
	// Problems lists "file:line: reason" for skipped or truncated rows,
	// the first MaxProblems of them.
	Problems []string `json:"problems,omitempty"`
}

// MaxProblems bounds DataReport.Problems.
const MaxProblems = 50

// skip records a skipped row.
func (r *DataReport) skip(where, reason string) {
	if r.Skipped == nil {
		r.Skipped = map[string]int{}
	}
	r.Skipped[reasonKey(reason)]++
	r.note(where, reason)
}

// note records a problem line.
func (r *DataReport) note(where, reason string) {
	if len(r.Problems) < MaxProblems {
		r.Problems = append(r.Problems, where+": "+reason)
	}
}

// reasonKey groups reasons that differ only in their numbers.
func reasonKey(reason string) string {
	switch {
	case strings.Contains(reason, "exceed --max-length"):
		return "over max_length"
	case strings.Contains(reason, "identical"), strings.Contains(reason, "chosen equals rejected"):
		return "chosen equals rejected"
	case strings.Contains(reason, "empty"):
		return "empty response"
	case strings.Contains(reason, "tie"):
		return "tie"
	}
	return "unreadable row"
}

// SkippedTotal is the number of rows skipped.
func (r *DataReport) SkippedTotal() int {
	n := 0
	for _, c := range r.Skipped {
		n += c
	}
	return n
}

// Print writes a short human summary: counts, then the first problems.
func (r *DataReport) Print(w io.Writer, what string) {
	fmt.Fprintf(w, "%s: %d rows, %d kept", what, r.Rows, r.Kept)
	if r.Truncated > 0 {
		fmt.Fprintf(w, ", %d truncated", r.Truncated)
	}
	if n := r.SkippedTotal(); n > 0 {
		keys := make([]string, 0, len(r.Skipped))
		for k := range r.Skipped {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%d %s", r.Skipped[k], k)
		}
		fmt.Fprintf(w, ", %d skipped (%s)", n, strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	for i, p := range r.Problems {
		if i == 10 {
			fmt.Fprintf(w, "  ... %d more (the first %d are listed in data_report.json)\n", r.SkippedTotal()+r.Truncated-10, len(r.Problems))
			break
		}
		fmt.Fprintln(w, "  "+p)
	}
}

// ReadPrefPairs reads preference files, tokenizes each pair as TRL does
// (TokenizePair) and keeps the usable ones. Rows that cannot be read,
// ties, empty responses, identical chosen and rejected, and pairs longer
// than maxLength tokens (0 = no limit) are skipped and reported by
// file:line. An error is returned only when reading itself fails.
func ReadPrefPairs(ctx context.Context, files []string, tok Tokenizer, maxLength int, o prefs.ReadOptions) ([]PrefPair, *DataReport, error) {
	var pairs []PrefPair
	rep := &DataReport{}
	err := prefs.Read(ctx, files, o, func(file string, line int, c *prefs.Comparison, rowErr error) error {
		rep.Rows++
		where := fmt.Sprintf("%s:%d", file, line)
		if rowErr != nil {
			rep.skip(where, rowErr.Error())
			return nil
		}
		text := PrefTextOf(c)
		if text == nil {
			rep.skip(where, "a tie has no chosen response")
			return nil
		}
		p, err := TokenizePair(tok, text)
		if err != nil {
			rep.skip(where, err.Error())
			return nil
		}
		p.Source = where
		if why := pairProblem(p, maxLength); why != "" {
			rep.skip(where, why)
			return nil
		}
		pairs = append(pairs, p)
		return nil
	})
	if err != nil {
		return nil, rep, err
	}
	rep.Kept = len(pairs)
	return pairs, rep, nil
}

// FilterPrefPairs drops the pairs that cannot be trained on (empty
// responses, identical chosen and rejected, longer than maxLength) and
// reports them by Source (or index).
func FilterPrefPairs(pairs []PrefPair, maxLength int) ([]PrefPair, *DataReport) {
	rep := &DataReport{Rows: len(pairs)}
	var kept []PrefPair
	for i, p := range pairs {
		if why := pairProblem(p, maxLength); why != "" {
			where := p.Source
			if where == "" {
				where = fmt.Sprintf("pair %d", i)
			}
			rep.skip(where, why)
			continue
		}
		kept = append(kept, p)
	}
	rep.Kept = len(kept)
	return kept, rep
}

// SplitEval moves a seeded random fraction of pairs (at least one when
// fraction > 0 and there are two or more) to a held-out set, keeping the
// order of both parts.
func SplitEval[E any](items []E, fraction float64, seed int64) (train, eval []E) {
	n := len(items)
	k := int(fraction*float64(n) + 0.5)
	if fraction > 0 && k == 0 && n >= 2 {
		k = 1
	}
	if k <= 0 {
		return items, nil
	}
	k = min(k, n-1)
	s := NewSampler(n, n, seed^0x65766c)
	perm, _ := s.Next()
	held := make([]bool, n)
	for _, i := range perm[:k] {
		held[i] = true
	}
	for i, it := range items {
		if held[i] {
			eval = append(eval, it)
		} else {
			train = append(train, it)
		}
	}
	return train, eval
}
