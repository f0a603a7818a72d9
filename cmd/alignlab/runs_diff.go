package main

import (
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/store"
)

// auditDiff is what 'runs diff --json' prints for two audits.
type auditDiff struct {
	Kind    string       `json:"kind"`
	A       string       `json:"a"`
	B       string       `json:"b"`
	Subject [2]string    `json:"subject"`
	Method  string       `json:"method"`
	Moves   []store.Move `json:"moves"`
	// PassA and PassB are the gate's verdicts.
	PassA bool `json:"pass_a"`
	PassB bool `json:"pass_b"`
}

// labDiff is what 'runs diff --json' prints for two lab runs.
type labDiff struct {
	Kind string `json:"kind"`
	A    string `json:"a"`
	B    string `json:"b"`
	rundir.LabDiff
}

func newRunsDiffCmd(f *runsFlags) *cobra.Command {
	var asJSON, force, all bool
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "What changed between two audits of the same model, or between two lab runs",
		Long: `diff compares run B with run A.

Two audits: every probe and probe metric, A's and B's estimates with their 95% CIs, the
change B-A with its own 95% CI, and whether the probe moved: its difference CI excludes 0.
The difference CI is computed by MOVER (Zou & Donner 2008) from the two stored CIs, taken as
independent; for the rate probes (Wilson intervals) this is Newcombe's hybrid score interval
for a difference of proportions. Audits of the same items are positively correlated, so the
test is conservative. 'CIs apart' marks the stricter case where the two CIs do not overlap.
Audits of different models (or targets) are refused unless --force.

Two lab runs: the validity-check verdicts, the validity-matrix cells whose flag changed or
whose CIs no longer overlap (--all: every cell), and each policy's trilemma scores.`,
		Example: `  alignlab runs diff audit-3f9a0c12d4e5 audit-77b0e1a2c3d4
  alignlab runs diff audit-3f9a audit-77b0 --json
  alignlab runs diff lab-20261126-221620-seed1-quick lab-20261127-090000-seed2-quick --all`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := runIndex(cmd.Context(), f.db, f.root())
			if err != nil {
				return &exitError{code: exitErr, err: err}
			}
			var ab [2]*runEntry
			for i, arg := range args {
				if ab[i], err = findRun(runs, arg); err != nil {
					return &exitError{code: exitErr, err: err}
				}
			}
			a, b := ab[0], ab[1]
			out := cmd.OutOrStdout()
			switch {
			case a.Kind == "audit" && b.Kind == "audit":
				d, err := diffAudits(a, b, force)
				if err != nil {
					return &exitError{code: exitErr, err: err}
				}
				if asJSON {
					return writeJSON(out, d)
				}
				return writeAuditDiff(out, d)
			case a.Kind == "lab" && b.Kind == "lab":
				sa, err := rundir.ReadLabSummary(a.Dir)
				if err != nil {
					return &exitError{code: exitErr, err: err}
				}
				sb, err := rundir.ReadLabSummary(b.Dir)
				if err != nil {
					return &exitError{code: exitErr, err: err}
				}
				d := labDiff{Kind: "lab", A: a.ID, B: b.ID, LabDiff: rundir.DiffLab(sa, sb)}
				if asJSON {
					return writeJSON(out, d)
				}
				return writeLabDiff(out, d, all)
			}
			return &exitError{code: exitErr, err: fmt.Errorf("runs diff compares two audits or two lab runs; %s is %s and %s is %s ('alignlab runs ls --kind audit' lists audits)", a.ID, a.Kind, b.ID, b.Kind)}
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print the comparison as JSON ({"kind": "audit", "method", "moves": [...]} or {"kind": "lab", "cells", "trilemma"})`)
	cmd.Flags().BoolVar(&force, "force", false, "compare audits of different models or targets")
	cmd.Flags().BoolVar(&all, "all", false, "lab runs: list every validity cell, not only those that changed")
	return cmd
}

// auditOf returns an audit run's summary: from the store, else from its
// directory's audit.json.
func auditOf(e *runEntry) (*store.AuditSummary, error) {
	if e.audit != nil {
		s, err := store.ParseAuditSummary(e.audit.Summary)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", e.ID, err)
		}
		return s, nil
	}
	var s store.AuditSummary
	if err := readJSONFile(filepath.Join(e.Dir, "audit.json"), &s); err != nil {
		return nil, fmt.Errorf("run %s: %w", e.ID, err)
	}
	return &s, nil
}

func diffAudits(a, b *runEntry, force bool) (*auditDiff, error) {
	sa, err := auditOf(a)
	if err != nil {
		return nil, err
	}
	sb, err := auditOf(b)
	if err != nil {
		return nil, err
	}
	subj := [2]string{a.Subject, b.Subject}
	for i, s := range []*store.AuditSummary{sa, sb} {
		if subj[i] == "" {
			subj[i] = s.Target
		}
	}
	// The same model is the same model name when the audits name one
	// (the endpoint may move), else the same target.
	same := subj[0] == subj[1]
	if a.audit != nil && b.audit != nil && a.audit.Model != "" {
		same = a.audit.Model == b.audit.Model
	}
	if !same && !force {
		return nil, fmt.Errorf("%s audits %q but %s audits %q: a diff of different models mixes the model change with everything else; pass --force to compare them anyway", a.ID, subj[0], b.ID, subj[1])
	}
	return &auditDiff{Kind: "audit", A: a.ID, B: b.ID, Subject: subj, Method: store.DiffMethod,
		Moves: store.DiffAudits(sa, sb), PassA: sa.Pass, PassB: sb.Pass}, nil
}

func writeAuditDiff(w io.Writer, d *auditDiff) error {
	fmt.Fprintf(w, "A %s (%s): %s\n", d.A, d.Subject[0], verdict(d.PassA))
	fmt.Fprintf(w, "B %s (%s): %s\n\n", d.B, d.Subject[1], verdict(d.PassB))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROBE\tA [95% CI]\tB [95% CI]\tB-A [95% CI]\tMOVED\tGATE")
	moved := 0
	for _, m := range d.Moves {
		st := func(s *store.Stat) string {
			if s == nil {
				return "-"
			}
			return fmt.Sprintf("%.3f [%.3f, %.3f]", s.Estimate, s.CILow, s.CIHigh)
		}
		delta, mv := "-", ""
		switch {
		case m.A == nil:
			mv = "only in B"
		case m.B == nil:
			mv = "only in A"
		default:
			delta = fmt.Sprintf("%+.3f [%+.3f, %+.3f]", m.Delta, m.DeltaLow, m.DeltaHigh)
			mv = "no"
			if m.Moved {
				moved++
				mv = "yes"
				if !m.Overlap {
					mv = "yes, CIs apart"
				}
			}
		}
		gate := ""
		if m.FlagA != m.FlagB {
			gate = fmt.Sprintf("%s -> %s", flagWord(m.FlagA), flagWord(m.FlagB))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, st(m.A), st(m.B), delta, mv, gate)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d of %d moved. Moved: %s\n", moved, len(d.Moves), d.Method)
	return nil
}

func verdict(pass bool) string {
	if pass {
		return "gate passed"
	}
	return "gate failed"
}

func flagWord(f bool) string {
	if f {
		return "FAIL"
	}
	return "pass"
}

func writeLabDiff(w io.Writer, d labDiff, all bool) error {
	fmt.Fprintf(w, "validity check: A %s %s, B %s %s\n\n", d.A, passWord(d.ValidityA), d.B, passWord(d.ValidityB))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DETECTOR\tORGANISM\tA [95% CI]\tB [95% CI]\tB-A\tCHANGE")
	cell := func(c *rundir.LabCell) string {
		if c == nil {
			return "-"
		}
		s := fmt.Sprintf("%.3f [%.3f, %.3f]", c.Estimate, c.CILow, c.CIHigh)
		if c.Flagged {
			s += " flagged"
		}
		return s
	}
	shown := 0
	for _, c := range d.Cells {
		var change string
		switch {
		case c.FlagChanged:
			change = "flag changed"
		case c.Separate:
			change = "CIs apart"
		}
		if change == "" && !all {
			continue
		}
		shown++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%+.3f\t%s\n", c.Detector, c.Organism, cell(c.A), cell(c.B), c.Delta, change)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if shown == 0 {
		fmt.Fprintf(w, "(no validity cell changed its flag or separated its CI among %d; --all lists them)\n", len(d.Cells))
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tOPTIMIZATION A -> B\tVALUE CAPTURE A -> B\tGENERALIZATION A -> B")
	for _, t := range d.Trilemma {
		ax := func(i int) string {
			if t.A == nil || t.B == nil {
				return "-"
			}
			av := [3]float64{t.A.Optimization, t.A.ValueCapture, t.A.Generalization}
			bv := [3]float64{t.B.Optimization, t.B.ValueCapture, t.B.Generalization}
			return fmt.Sprintf("%.3f -> %.3f (%+.3f)", av[i], bv[i], t.Delta[i])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Policy, ax(0), ax(1), ax(2))
	}
	return tw.Flush()
}

func passWord(p bool) string {
	if p {
		return "passes"
	}
	return "fails"
}
