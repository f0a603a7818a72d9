package audit

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the gate's summary table and, below it, what each
// estimate means and which test stands behind it.
func WriteTable(w io.Writer, s *Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "probe\testimate\t95% CI\tn\trule\tresult")
	names := make([]string, 0, len(s.Probes))
	for n := range s.Probes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := s.Probes[n]
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\tERROR\n", n)
			continue
		}
		rule, result := "-", "pass"
		if r.Threshold != nil {
			rule = r.Threshold.String()
		}
		if r.Flagged {
			result = "FAIL"
			if len(r.MetricFlags) > 0 {
				result += " (" + strings.Join(r.MetricFlags, ", ") + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%+.3f\t[%+.3f, %+.3f]\t%d\t%s\t%s\n", n, r.Estimate, r.CILow, r.CIHigh, r.N, rule, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, n := range names {
		r := s.Probes[n]
		if r.Error != "" {
			fmt.Fprintf(w, "%s: error: %s\n", n, r.Error)
			continue
		}
		fmt.Fprintf(w, "%s: %v\n    test: %s", n, r.Details["estimand"], r.Test)
		if r.PValue != nil {
			fmt.Fprintf(w, " (p = %.3g)", *r.PValue)
		}
		fmt.Fprintln(w)
		for _, m := range sortedKeys(r.Metrics) {
			st := r.Metrics[m]
			fmt.Fprintf(w, "    %s = %+.3f [%+.3f, %+.3f] n=%d\n", m, st.Estimate, st.CILow, st.CIHigh, st.N)
		}
		if e, ok := r.Details["explanation"]; ok {
			fmt.Fprintf(w, "    %v\n", e)
		}
		if t, ok := r.Details["top_driver"]; ok {
			fmt.Fprintf(w, "    template driving the gap most: %v\n", t)
		}
		if t, ok := r.Details["worst_slice"]; ok {
			fmt.Fprintf(w, "    worst slice: %v\n", t)
		}
		if t, ok := r.Details["direction"]; ok {
			fmt.Fprintf(w, "    direction: %v\n", t)
		}
	}
	fmt.Fprintf(w, "\nrun %s: %d tasks (%d from earlier runs, %d new, %d failed)\n",
		s.RunID, s.Tasks.Total, s.Tasks.Skipped, s.Tasks.Done, s.Tasks.Failed)
	for _, e := range s.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	verdict := "PASS: every policy rule holds"
	switch s.ExitCode() {
	case 1:
		verdict = "FAIL: a policy rule does not hold"
	case 2:
		verdict = "ERROR: the audit did not complete; rerun the same command to resume"
	}
	_, err := fmt.Fprintln(w, verdict)
	return err
}
