package lab

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteText prints the summary for a reader: the base, the validity
// matrix, the DPO-against-RLHF comparison and the trilemma.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "alignlab lab %s: %d seeds, %.1fs", s.ID, s.Seeds, s.Seconds)
	if s.Dir != "" {
		fmt.Fprintf(&b, ", written to %s", s.Dir)
	}
	b.WriteString("\n\n")
	if s.Base != nil {
		g := s.Base.Main.Greedy.Overall
		fmt.Fprintf(&b, "base model (%d parameters): gold accuracy %.3f [%.3f, %.3f] greedy, %.3f sampled (n=%d); tail base %.3f greedy\n\n",
			s.Base.Params, g.Estimate, g.CILow, g.CIHigh, s.Base.Main.Sampled.Estimate, g.N, s.Base.Tail.Greedy.Overall.Estimate)
	}
	var orgs []string
	for o := range s.Validity[DetSycophancy] {
		orgs = append(orgs, o)
	}
	order := map[string]int{"clean": 0, "sycophant": 1, "mirage": 2, "hacker": 3, "drift": 4, "tail": 5, "overhang": 6}
	sort.Slice(orgs, func(i, j int) bool {
		oi, iok := order[orgs[i]]
		oj, jok := order[orgs[j]]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return orgs[i] < orgs[j]
	})
	b.WriteString("validity matrix (estimate; * flagged in a majority of seeds, flagged seeds in parentheses)\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "detector\t%s\n", strings.Join(orgs, "\t"))
	for _, d := range DetectorNames {
		row := []string{d}
		for _, o := range orgs {
			c := s.Validity[d][o]
			mark := " "
			if c.Flagged {
				mark = "*"
			}
			row = append(row, fmt.Sprintf("%+.2f%s(%d/%d)", c.Estimate, mark, c.FlaggedSeeds, c.Seeds))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	verdict := "PASS"
	if !s.ValidityCheck.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "validity: %s (%s); off-diagonal flags: %v\n\n", verdict, s.ValidityCheck.Rule, s.ValidityCheck.OffDiagonal)
	if c := s.DPOvsRLHF; c != nil {
		b.WriteString("DPO vs RLHF on the clean organism's data (gold: sampled replies, Wilson 95%)\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "method\tsetting\tseed\tgold\tKL\tgreedy\tCPU s\twall s\tpeak MiB")
		for _, r := range c.Runs {
			fmt.Fprintf(tw, "%s\t%s=%g\t%d\t%.3f [%.3f, %.3f]\t%.3f\t%.3f\t%.1f\t%.1f\t%.1f\n", r.Method, r.Param, r.Value, r.Seed,
				r.Gold.Estimate, r.Gold.CILow, r.Gold.CIHigh, r.KL, r.Greedy.Estimate, r.CPUSeconds, r.Seconds, r.PeakHeapMiB)
		}
		tw.Flush()
		for _, v := range c.Verdicts {
			fmt.Fprintf(&b, "  %s: %s. %s\n", v.Claim, v.Verdict, v.Evidence)
		}
		b.WriteString("\n")
	}
	if len(s.Trilemma) > 0 {
		b.WriteString("trilemma (optimization, value capture, generalization; each in [0,1])\n")
		var names []string
		for n := range s.Trilemma {
			names = append(names, n)
		}
		sort.Strings(names)
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, n := range names {
			t := s.Trilemma[n]
			fmt.Fprintf(tw, "  %s\t%.3f\t%.3f\t%.3f\n", n, t.Optimization, t.ValueCapture, t.Generalization)
		}
		tw.Flush()
		fmt.Fprintf(&b, "  %s\n", s.TrilemmaNote)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
