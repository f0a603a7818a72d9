package report

// An inspect run's report, drawn from interp.Result alone: its matrices
// as heatmaps, its tables as tables, its series as line charts. The
// report needs no knowledge of the inspect command that wrote it.

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/alignlab/alignlab/interp"
)

// addInspect adds an inspect run's result.
func addInspect(p *Page, dir string, _ bool) error {
	var r interp.Result
	if err := readJSON(dir, interp.ResultFile, &r); err != nil {
		return err
	}
	for _, m := range r.Matrices {
		if m == nil {
			continue
		}
		if err := m.Validate(); err != nil {
			return fmt.Errorf("%s: %w", interp.ResultFile, err)
		}
	}
	kind := r.Kind
	if kind == "" {
		kind = "inspect"
	}
	if strings.HasPrefix(p.Title, "alignlab run ") {
		p.Title = "alignlab inspect " + kind + ": " + filepath.Base(dir)
	}
	if r.Model != "" {
		p.fact("model", r.Model)
	}
	p.Subtitle = r.Summary
	s := &Section{ID: "inspect", Title: "Inspect " + kind, Intro: r.Summary}
	for _, m := range r.Matrices {
		if m == nil {
			continue
		}
		s.chart(Heatmap(matrixSpec(m)))
	}
	for _, sr := range r.Series {
		if sr == nil {
			continue
		}
		spec := LineSpec{Title: sr.Title, XLabel: sr.XLabel, YLabel: sr.YLabel, Note: sr.Note}
		if spec.Note == "" {
			spec.Note = fmt.Sprintf("%s against %s.", orDefault(sr.YLabel, "value"), orDefault(sr.XLabel, "x"))
		}
		for _, l := range sr.Lines {
			ld := LineData{Name: l.Name, X: sr.X, Y: l.Y, Points: len(sr.X) <= 40}
			if len(l.CILow) == len(l.Y) && len(l.CIHigh) == len(l.Y) {
				ld.Lo, ld.Hi = l.CILow, l.CIHigh
			}
			spec.Lines = append(spec.Lines, ld)
		}
		s.chart(LineChart(spec))
	}
	for _, t := range r.Tables {
		if t == nil {
			continue
		}
		s.table(&Table{Title: t.Title, Columns: t.Columns, Rows: t.Rows, Note: t.Note})
	}
	if len(s.Blocks) == 0 && r.Summary == "" {
		s.text("The result has no matrices, series or tables.")
	}
	p.Sections = append(p.Sections, s)
	if r.Data != nil {
		if raw, err := json.MarshalIndent(r.Data, "", "  "); err == nil && len(raw) < 200<<10 {
			p.Sections = append(p.Sections, &Section{ID: "data", Title: "Result data", Intro: "The command's own fields, as --json prints them.",
				Blocks: []Block{{Pre: string(raw)}}})
		}
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// matrixSpec turns an interp.Matrix into a heatmap: diverging around 0
// when it holds values of both signs (patching effects, attributions),
// sequential otherwise.
func matrixSpec(m *interp.Matrix) HeatSpec {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range m.Values {
		l, h := extent(r)
		lo, hi = math.Min(lo, l), math.Max(hi, h)
	}
	div := lo < 0 && hi > 0
	note := fmt.Sprintf("Each cell is %s for %s (row) and %s (column).", orDefault(m.Metric, "the value"), orDefault(m.RowName, "row"), orDefault(m.ColName, "column"))
	if div {
		note += " Orange is positive, blue negative, white zero: the cells far from white are where the effect lives."
	} else {
		note += " Brighter (yellow) is larger."
	}
	return HeatSpec{Title: m.Title, RowName: m.RowName, ColName: m.ColName, Metric: m.Metric, Rows: m.Rows, Cols: m.Cols,
		Values: m.Values, Diverging: div, Note: note}
}
