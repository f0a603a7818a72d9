package prefs

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// maxTableAnnotators bounds the unflagged rows of the annotator table.
const maxTableAnnotators = 40

// WriteText writes the human-readable summary of a report: counts, the
// data-level biases, agreement, global drift, and one table row per
// annotator. Lists are cut to their first few entries; --json has them all.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	p := ew.printf
	for _, f := range r.Files {
		p("%s: %s, %d rows, %d invalid\n", f.Path, f.Format, f.Rows, f.Invalid)
	}
	c := r.Counts
	p("\n%d valid rows, %d items (%d with several labels), %d prompts, %d annotators; time axis: %s\n",
		r.Rows, c.Items, c.MultiLabelItems, c.Prompts, c.Annotators, r.Time.Kind)
	p("invalid rows:    %d\n", c.Invalid)
	for i, v := range r.Invalid {
		if i == 5 {
			p("  ... %d more (--json lists all)\n", len(r.Invalid)-5)
			break
		}
		p("  %s:%d: %s\n", v.File, v.Line, v.Error)
	}
	p("duplicates:      %d exact, %d after normalizing case and whitespace\n", c.DuplicatesExact, c.DuplicatesNormalized)
	p("contradictions:  %d (%d rows)\n", c.Contradictions, c.ContradictionRows)
	for i, x := range r.Contradictions {
		if i == 3 {
			p("  ...\n")
			break
		}
		var refs []string
		for _, rr := range x.Rows {
			refs = append(refs, fmt.Sprintf("%s:%d prefers %s", rr.File, rr.Line, rr.Preferred))
		}
		p("  annotator %q: %s\n", x.Annotator, strings.Join(refs, "; "))
	}
	p("cycles:          %d (%d rows)\n", c.Cycles, c.CycleRows)
	for i, x := range r.Cycles {
		if i == 3 {
			p("  ...\n")
			break
		}
		var refs []string
		for _, rr := range x.Rows {
			refs = append(refs, fmt.Sprintf("%s:%d", rr.File, rr.Line))
		}
		p("  %d responses: %s\n", x.Length, strings.Join(refs, ", "))
	}
	p("ties:            %d\n", c.Ties)

	p("\nbiases (rate [95%% CI], binomial test against 0.5)\n")
	rate := func(name string, x Rate) {
		if x.N == 0 {
			p("  %-10s n/a\n", name)
			return
		}
		p("  %-10s %.3f [%.3f, %.3f]  n=%d  p=%.2g\n", name, x.Rate, x.CILow, x.CIHigh, x.N, x.PValue)
	}
	rate("position", r.Biases.Position)
	rate("length", r.Biases.Length)
	rate("belief", r.Biases.Belief)

	ag := r.Agreement
	p("\nagreement over %d items with several labels: Krippendorff's alpha %s, Fleiss' kappa %s\n",
		ag.Items, fmtPtr(ag.KrippendorffAlpha), fmtPtr(ag.FleissKappa))
	if len(ag.Windows) > 0 {
		var parts []string
		for _, wd := range ag.Windows {
			parts = append(parts, fmtPtr(wd.Alpha))
		}
		p("  alpha per time window: %s\n", strings.Join(parts, " "))
	}
	p("\ndrift of the whole data set (CUSUM change point, permutation test)\n")
	for _, d := range r.Drift {
		mark := "no change"
		if d.Detected {
			mark = "CHANGE at " + d.ChangeTimeText
		}
		p("  %-10s %s  (%.3f -> %.3f, p=%.2g, n=%d)\n", d.Stream, mark, d.Before, d.After, d.PValue, d.N)
	}

	p("\nannotators\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tn\tagree\tskill\tpos.bias\tfirst wins\tlonger wins\tbelief wins\tdrift\tflags")
	// Thousands of annotators (Arena judges) would bury the table: show
	// the flagged ones and the busiest others.
	shown := r.Annotators
	if len(shown) > maxTableAnnotators {
		busiest := make([]int, 0, len(shown))
		for i := range shown {
			busiest = append(busiest, i)
		}
		sort.SliceStable(busiest, func(x, y int) bool { return shown[busiest[x]].N > shown[busiest[y]].N })
		keep := map[int]bool{}
		for _, i := range busiest[:maxTableAnnotators] {
			keep[i] = true
		}
		var sel []Annotator
		for i, a := range shown {
			if keep[i] || len(a.Flags) > 0 {
				sel = append(sel, a)
			}
		}
		shown = sel
	}
	for _, a := range shown {
		id := a.ID
		if id == "" {
			id = "(none)"
		}
		drift := "-"
		if a.Drift.Detected {
			drift = fmt.Sprintf("%.2f->%.2f at %s", a.Drift.Before, a.Drift.After, a.Drift.ChangeTimeText)
		}
		flags := strings.Join(a.Flags, ",")
		if flags == "" {
			flags = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id, a.N, fmtRate(a.Agreement), fmtPtr(a.Skill),
			fmtPtr(a.PositionBias), fmtRate(a.Position), fmtRate(a.Length), fmtRate(a.Belief), drift, flags)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(shown) < len(r.Annotators) {
		p("(%d more annotators with fewer rows and no flags; --json lists all)\n", len(r.Annotators)-len(shown))
	}
	var flagged []string
	for _, a := range r.Annotators {
		if len(a.Flags) > 0 {
			flagged = append(flagged, a.ID)
		}
	}
	p("\n%d of %d annotators flagged", len(flagged), len(r.Annotators))
	if len(flagged) > 0 {
		p(": %s", strings.Join(flagged, ", "))
	}
	p("\n(%.1f s)\n", r.Seconds)
	return ew.err
}

func fmtPtr(f *float64) string {
	if f == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", *f)
}

func fmtRate(x Rate) string {
	if x.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f±%.2f", x.Rate, (x.CIHigh-x.CILow)/2)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
