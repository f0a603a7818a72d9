package report

// A data audit's report (prefs.Report in data_audit.json): data-level
// biases, agreement over time, per-annotator drift timelines, and each
// annotator's skill against their biases.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/prefs"
)

// SaveDataAudit writes a data audit's run directory (run.json from meta,
// data_audit.json from rep) under root, via internal/rundir, then its
// report. It returns the directory and the report's path.
func SaveDataAudit(root string, command []string, seed uint64, version string, rep *prefs.Report) (dir, path string, err error) {
	dir, _, err = rundir.Create(root, "data-audit", command, &seed, version)
	if err != nil {
		return "", "", err
	}
	if err := writeJSONFile(filepath.Join(dir, DataAuditFile), rep); err != nil {
		return dir, "", err
	}
	path, err = WriteRun(dir, Options{})
	return dir, path, err
}

// timeAxis turns the report's time values into a chart's x values and
// names the axis.
func timeAxis(t prefs.TimeAxis) (func(float64) float64, string) {
	switch t.Kind {
	case "clock":
		start := time.Unix(int64(t.Min), 0).UTC().Format("2006-01-02")
		return func(v float64) float64 { return (v - t.Min) / 86400 }, "days since the first label (" + start + ")"
	case "order":
		return func(v float64) float64 { return v }, "batch (order of annotation)"
	}
	return func(v float64) float64 { return v }, "row (file order; the data has no time column)"
}

// addDataAudit adds a data audit's sections.
func addDataAudit(p *Page, dir string, _ bool) error {
	var rep prefs.Report
	if err := readJSON(dir, DataAuditFile, &rep); err != nil {
		return err
	}
	if strings.HasPrefix(p.Title, "alignlab run ") {
		p.Title = "alignlab data audit: " + filepath.Base(dir)
	}
	var files []string
	for _, f := range rep.Files {
		files = append(files, fmt.Sprintf("%s (%s, %d rows)", f.Path, f.Format, f.Rows))
	}
	p.Facts = append(p.Facts, [2]string{"files", strings.Join(files, "; ")},
		[2]string{"rows", fmt.Sprintf("%d (%d invalid)", rep.Rows, rep.Counts.Invalid)},
		[2]string{"annotators", fmt.Sprint(rep.Counts.Annotators)})
	p.Sections = append(p.Sections, prefsOverview(&rep), prefsDrift(&rep), prefsAnnotators(&rep))
	return nil
}

func rateRow(label, group string, r prefs.Rate) ForestRow {
	return ForestRow{Label: label, Group: group, Est: r.Rate, Lo: r.CILow, Hi: r.CIHigh, Flagged: r.PValue < 0.05 && r.N > 0,
		Detail: fmt.Sprintf("%d of %d, p = %.3g against %g", r.K, r.N, r.PValue, r.Null), FlagName: "p < 0.05", UnflaggedName: "p ≥ 0.05"}
}

func prefsOverview(rep *prefs.Report) *Section {
	s := &Section{ID: "data", Title: "Data set",
		Intro: "What the rows say as a whole: biases of the labels and the problems found."}
	var rows []ForestRow
	for _, b := range []struct {
		name string
		r    prefs.Rate
	}{{"position: first shown wins", rep.Biases.Position}, {"length: longer wins", rep.Biases.Length}, {"belief: agreeing with the user wins", rep.Biases.Belief}} {
		if b.r.N > 0 {
			rows = append(rows, rateRow(b.name, "data set", b.r))
		}
	}
	if len(rows) > 0 {
		s.chart(Forest(ForestSpec{Title: "Label biases of the whole data set", XLabel: "share of pairs (95% CI)", Rows: rows, Ref: ptr(0.5), RefLabel: "no bias (0.5)",
			Note: "Unbiased labels pick the first-shown, longer or user-agreeing reply half the time; an interval clear of 0.5 means the labels reward that feature, and a model trained on them will learn it."}))
	}
	c := rep.Counts
	s.table(&Table{Title: "Problems found", Columns: []string{"check", "count"}, Rows: [][]string{
		{"invalid rows", fmt.Sprint(c.Invalid)}, {"exact duplicates", fmt.Sprint(c.DuplicatesExact)},
		{"normalized duplicates", fmt.Sprint(c.DuplicatesNormalized)}, {"contradictions (rows)", fmt.Sprintf("%d (%d)", c.Contradictions, c.ContradictionRows)},
		{"intransitive cycles (rows)", fmt.Sprintf("%d (%d)", c.Cycles, c.CycleRows)}, {"ties", fmt.Sprint(c.Ties)},
		{"prompts", fmt.Sprint(c.Prompts)}, {"items with several labels", fmt.Sprintf("%d of %d", c.MultiLabelItems, c.Items)},
	}})
	a := rep.Agreement
	agree := fmt.Sprintf("Agreement over %d items with at least two labels (%d labels):", a.Items, a.Labels)
	if a.KrippendorffAlpha != nil {
		agree += fmt.Sprintf(" Krippendorff's alpha %.3f", *a.KrippendorffAlpha)
	}
	if a.FleissKappa != nil {
		agree += fmt.Sprintf(", Fleiss' kappa %.3f", *a.FleissKappa)
	}
	s.text(agree + ".")
	return s
}

func prefsDrift(rep *prefs.Report) *Section {
	s := &Section{ID: "drift", Title: "Annotator drift",
		Intro: "Whether labellers changed their criteria over time: agreement between annotators per time window, and change points in each annotator's agreement with the consensus."}
	tx, xlabel := timeAxis(rep.Time)
	var alpha LineData
	alpha.Name, alpha.Points = "Krippendorff's alpha", true
	for _, w := range rep.Agreement.Windows {
		if w.Alpha == nil {
			continue
		}
		alpha.X = append(alpha.X, tx((w.Start+w.End)/2))
		alpha.Y = append(alpha.Y, *w.Alpha)
	}
	if len(alpha.X) > 0 {
		s.chart(LineChart(LineSpec{Title: "Inter-annotator agreement over time", XLabel: xlabel, YLabel: "Krippendorff's alpha (nominal)",
			Lines: []LineData{alpha}, YMax: ptr(1), Refs: []RefLine{{Axis: "y", Value: 0, Label: "chance"}},
			Note: "Agreement among annotators labelling the same items, per time window (1 is perfect, 0 is chance). A drop part-way through means some labellers changed what they reward."}))
	}
	// Each annotator's agreement with the consensus before and after its
	// most likely change point: a step for drifting ones, flat otherwise.
	var lines []LineData
	var refs []RefLine
	x0, x1 := tx(rep.Time.Min), tx(rep.Time.Max)
	for _, an := range rep.Annotators {
		d := an.Drift
		if d.N == 0 || !d.Detected {
			continue
		}
		xc := tx(d.ChangeTime)
		lines = append(lines, LineData{Name: an.ID, X: []float64{x0, xc, xc, x1}, Y: []float64{d.Before, d.Before, d.After, d.After}})
		refs = append(refs, RefLine{Axis: "x", Value: xc, Label: an.ID + " changes"})
	}
	for _, ds := range rep.Drift {
		if !ds.Detected {
			continue
		}
		xc := tx(ds.ChangeTime)
		lines = append(lines, LineData{Name: "data set: " + ds.Stream, X: []float64{x0, xc, xc, x1}, Y: []float64{ds.Before, ds.Before, ds.After, ds.After}, Dash: true})
	}
	if len(lines) > 0 {
		s.chart(LineChart(LineSpec{Title: "What changed, and when", XLabel: xlabel,
			YLabel: "rate before and after the change point", Lines: lines, YMin: ptr(0), YMax: ptr(1), Refs: refs,
			Note: "Solid: each annotator with a significant change point (CUSUM, permutation test, Holm-adjusted), its share of labels agreeing with the consensus before and after it; a fall means that labeller started rewarding something else then. Dashed: a data-set-wide stream (agreement, or a bias rate) that changed."}))
	} else {
		s.text("No annotator's agreement with the consensus changed significantly over time.")
	}
	t := &Table{Title: "Change-point tests", Columns: []string{"stream", "n", "change at", "before", "after", "p", "drift"}}
	for _, ds := range rep.Drift {
		t.Rows = append(t.Rows, []string{ds.Stream, fmt.Sprint(ds.N), ds.ChangeTimeText, fmtVal(ds.Before), fmtVal(ds.After), fmt.Sprintf("%.3g", ds.PValue), yesNo(ds.Detected)})
		t.Classes = append(t.Classes, map[bool]string{true: "bad"}[ds.Detected])
	}
	for _, an := range rep.Annotators {
		d := an.Drift
		if d.N == 0 {
			continue
		}
		t.Rows = append(t.Rows, []string{"annotator " + an.ID, fmt.Sprint(d.N), d.ChangeTimeText, fmtVal(d.Before), fmtVal(d.After), fmt.Sprintf("%.3g", d.PValue), yesNo(d.Detected)})
		t.Classes = append(t.Classes, map[bool]string{true: "bad"}[d.Detected])
	}
	if len(t.Rows) > 0 {
		s.table(t)
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// annotatorGroup is the legend group of an annotator: its first flag, or
// "no flag".
func annotatorGroup(a prefs.Annotator) string {
	if len(a.Flags) == 0 {
		return "no flag"
	}
	return a.Flags[0]
}

func prefsAnnotators(rep *prefs.Report) *Section {
	s := &Section{ID: "annotators", Title: "Annotator quality",
		Intro: "Each labeller's skill (agreement with the leave-one-out consensus) against their biases; colour is the annotator's flag."}
	anns := append([]prefs.Annotator(nil), rep.Annotators...)
	sort.SliceStable(anns, func(i, j int) bool { return annotatorGroup(anns[i]) < annotatorGroup(anns[j]) })
	var belief, bias, nbt []ScatterPoint
	for _, a := range anns {
		g := annotatorGroup(a)
		if a.Agreement.N > 0 && a.Belief.N > 0 {
			belief = append(belief, ScatterPoint{X: a.Agreement.Rate, Y: a.Belief.Rate, XCI: &[2]float64{a.Agreement.CILow, a.Agreement.CIHigh},
				YCI: &[2]float64{a.Belief.CILow, a.Belief.CIHigh}, Group: g, Label: a.ID})
		}
		if a.Length.N > 0 && a.Position.N > 0 {
			bias = append(bias, ScatterPoint{X: a.Length.Rate, Y: a.Position.Rate, XCI: &[2]float64{a.Length.CILow, a.Length.CIHigh},
				YCI: &[2]float64{a.Position.CILow, a.Position.CIHigh}, Group: g, Label: a.ID})
		}
		if a.Skill != nil && a.PositionBias != nil {
			nbt = append(nbt, ScatterPoint{X: *a.Skill, Y: *a.PositionBias, Group: g, Label: a.ID})
		}
	}
	few := len(anns) <= 24
	if len(belief) > 0 {
		s.chart(Scatter(ScatterSpec{Title: "Skill against sycophancy", XLabel: "agreement with consensus (share, 95% CI)",
			YLabel: "prefers the reply agreeing with the user (share)", Points: belief, Labels: few, XMin: ptr(0), XMax: ptr(1), YMin: ptr(0), YMax: ptr(1),
			Refs: []RefLine{{Axis: "y", Value: 0.5, Label: "no belief bias"}, {Axis: "x", Value: rep.Settings.SpammerBelow, Label: "spammer bound"}},
			Note: "Good labellers sit right (they agree with the others) and near the 0.5 line (they do not reward agreeing with the user). High and left is a sycophantic labeller; far left is noise."}))
	}
	if len(bias) > 0 {
		s.chart(Scatter(ScatterSpec{Title: "Length bias against position bias", XLabel: "prefers the longer reply (share, 95% CI)",
			YLabel: "prefers the first-shown reply (share)", Points: bias, Labels: few, XMin: ptr(0), XMax: ptr(1), YMin: ptr(0), YMax: ptr(1),
			Refs: []RefLine{{Axis: "x", Value: 0.5, Label: "no length bias"}, {Axis: "y", Value: 0.5, Label: "no position bias"}},
			Note: "Unbiased labellers sit at the crossing of the 0.5 lines; one far to the right rewards length (a proxy a reward model will learn), one far up or down picks by position."}))
	}
	if len(nbt) > 0 {
		s.chart(Scatter(ScatterSpec{Title: "Noisy Bradley-Terry skill and position bias", XLabel: "skill (reliability, 0 to 1)",
			YLabel: "P(first shown | guessing)", Points: nbt, Labels: few, XMin: ptr(0), XMax: ptr(1), YMin: ptr(0), YMax: ptr(1),
			Refs: []RefLine{{Axis: "y", Value: 0.5, Label: "no position bias"}},
			Note: "The model-based view of the same labellers: skill is how often they judge rather than guess, the bias how they guess."}))
	}
	t := &Table{Columns: []string{"annotator", "rows", "agreement", "kappa", "skill", "position", "length", "belief", "drift", "flags"}}
	for _, a := range rep.Annotators {
		t.Rows = append(t.Rows, []string{a.ID, fmt.Sprint(a.N), rateText(a.Agreement), ptrText(a.Kappa), ptrText(a.Skill),
			rateText(a.Position), rateText(a.Length), rateText(a.Belief), yesNo(a.Drift.Detected), strings.Join(a.Flags, ", ")})
		cls := ""
		if len(a.Flags) > 0 {
			cls = "bad"
		}
		t.Classes = append(t.Classes, cls)
	}
	t.Note = fmt.Sprintf("Rates with 95%% intervals; flags use alpha %g (Holm across annotators), a minimum effect of %g and at least %d rows.",
		rep.Settings.Alpha, rep.Settings.MinEffect, rep.Settings.MinRows)
	s.table(t)
	return s
}

func rateText(r prefs.Rate) string {
	if r.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%s [%s, %s]", fmtVal(r.Rate), fmtVal(r.CILow), fmtVal(r.CIHigh))
}

func ptrText(v *float64) string {
	if v == nil || math.IsNaN(*v) {
		return "–"
	}
	return fmtVal(*v)
}

// writeJSONFile writes v as indented JSON.
func writeJSONFile(path string, v any) error {
	data, err := jsonIndent(v)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.WriteFile(path, data, 0o644)
}
