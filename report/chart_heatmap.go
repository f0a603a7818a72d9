package report

import (
	"fmt"
	"math"
)

// HeatSpec describes a heatmap: Values[i][j] belongs to Rows[i], Cols[j].
type HeatSpec struct {
	Title, RowName, ColName, Note string
	// Metric names what a value is (and its unit); it labels the legend.
	Metric     string
	Rows, Cols []string
	Values     [][]float64
	// Marked cells get a thick outline; MarkLabel names it in the legend
	// (e.g. "flagged").
	Marked    [][]bool
	MarkLabel string
	// Diverging colours values blue below Center and orange above
	// (signed effects); otherwise a sequential viridis-like scale.
	Diverging bool
	Center    float64
	// Min and Max, when set, fix the colour range.
	Min, Max *float64
	// Text, when set, is written in each cell instead of the value.
	Text [][]string
}

// maxHeatCells caps a heatmap's cells so that a huge matrix cannot blow up
// the page; larger matrices show their first rows and say so in the title.
const maxHeatCells = 12000

// Heatmap draws s.
func Heatmap(s HeatSpec) *Chart {
	rows, cols := s.Rows, s.Cols
	title := s.Title
	if len(cols) > 0 && len(rows)*len(cols) > maxHeatCells {
		keep := max(1, maxHeatCells/len(cols))
		title = fmt.Sprintf("%s (first %d of %d rows)", title, keep, len(rows))
		rows = rows[:keep]
	}
	c := &Chart{Kind: "heatmap", Title: title, Note: s.Note}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range rows {
		if i < len(s.Values) {
			l, h := extent(s.Values[i])
			lo, hi = math.Min(lo, l), math.Max(hi, h)
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	if s.Min != nil {
		lo = *s.Min
	}
	if s.Max != nil {
		hi = *s.Max
	}
	if s.Diverging {
		// Symmetric around the centre so that equal effects get equal colour.
		r := math.Max(math.Abs(hi-s.Center), math.Abs(lo-s.Center))
		if r == 0 {
			r = 1
		}
		lo, hi = s.Center-r, s.Center+r
	}
	if hi == lo {
		hi = lo + 1
	}
	colorOf := func(v float64) string {
		t := (v - lo) / (hi - lo)
		if s.Diverging {
			return diverging(t)
		}
		return sequential(t)
	}
	labelW := 40.0
	for _, r := range rows {
		labelW = math.Max(labelW, 7*float64(len([]rune(truncate(r, 24))))+12)
	}
	colLabelH := 20.0
	rotate := false
	for _, cl := range cols {
		if len([]rune(cl)) > 3 {
			rotate = true
		}
		if rotate {
			colLabelH = math.Max(colLabelH, 6*float64(len([]rune(truncate(cl, 18))))+12)
		}
	}
	cw := math.Max(6, math.Min(64, 560/math.Max(1, float64(len(cols)))))
	ch := math.Max(6, math.Min(32, 420/math.Max(1, float64(len(rows)))))
	left, top := labelW+24, 30+colLabelH
	gridW, gridH := cw*float64(len(cols)), ch*float64(len(rows))
	legendX := left + gridW + 24
	c.Width = legendX + math.Max(110, legendWidth([]string{s.MarkLabel, truncate(s.Metric, 24)}))
	c.Height = math.Max(top+gridH+44, top+200)
	c.open()
	showText := cw >= 34 && ch >= 16
	for j, cl := range cols {
		x := left + cw*(float64(j)+0.5)
		if rotate {
			c.printf(`<text class="cl" transform="translate(%s %s) rotate(-55)">%s<title>%s</title></text>`, num(x+3), num(top-6), esc(truncate(cl, 18)), esc(cl))
		} else {
			c.printf(`<text class="cl" x="%s" y="%s" text-anchor="middle">%s</text>`, num(x), num(top-6), esc(cl))
		}
	}
	for i, r := range rows {
		y := top + ch*float64(i)
		c.printf(`<text class="cl" x="%s" y="%s" text-anchor="end">%s<title>%s</title></text>`, num(left-6), num(y+ch/2+4), esc(truncate(r, 24)), esc(r))
		for j, cl := range cols {
			v := math.NaN()
			if i < len(s.Values) && j < len(s.Values[i]) {
				v = s.Values[i][j]
			}
			x := left + cw*float64(j)
			fill := colorOf(v)
			marked := i < len(s.Marked) && j < len(s.Marked[i]) && s.Marked[i][j]
			label := fmt.Sprintf("%s %s, %s %s: %s", s.RowName, r, s.ColName, cl, fmtVal(v))
			if marked && s.MarkLabel != "" {
				label += " (" + s.MarkLabel + ")"
			}
			typ := "cell"
			if marked {
				typ = "cell-marked"
			}
			c.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s><title>%s</title></rect>`, num(x), num(y), num(cw), num(ch), fill,
				c.mark(Mark{Type: typ, Label: r + "|" + cl, Data: []float64{v}, Pixels: []float64{x, y, cw, ch}, Color: fill}), esc(label))
			if showText {
				txt := fmtVal(v)
				if i < len(s.Text) && j < len(s.Text[i]) {
					txt = s.Text[i][j]
				}
				c.printf(`<text class="cv" x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, num(x+cw/2), num(y+ch/2+4), textOn(fill), esc(txt))
			}
		}
	}
	// Outlines last, so neighbours do not paint over them.
	for i := range rows {
		for j := range cols {
			if i < len(s.Marked) && j < len(s.Marked[i]) && s.Marked[i][j] {
				c.printf(`<rect class="mo" x="%s" y="%s" width="%s" height="%s"/>`, num(left+cw*float64(j)+1.5), num(top+ch*float64(i)+1.5), num(cw-3), num(ch-3))
			}
		}
	}
	c.printf(`<text class="al" x="%s" y="%s" text-anchor="middle">%s</text>`, num(left+gridW/2), num(top+gridH+30), esc(s.ColName))
	c.printf(`<text class="al" transform="translate(14 %s) rotate(-90)" text-anchor="middle">%s</text>`, num(top+gridH/2), esc(s.RowName))
	c.colorbar(legendX, top, lo, hi, s)
	c.close()
	return c
}

// colorbar draws the value legend: a vertical gradient of stepped
// rectangles with the range's ends and middle labelled.
func (c *Chart) colorbar(x, y, lo, hi float64, s HeatSpec) {
	const steps, h, w = 24, 160.0, 14.0
	c.printf(`<g class="lg"%s>`, c.mark(Mark{Type: "colorbar", Data: []float64{lo, hi}, Pixels: []float64{x, y, w, h}}))
	c.printf(`<text x="%s" y="%s">%s</text>`, num(x), num(y-14), esc(truncate(s.Metric, 24)))
	if s.Metric != "" && len([]rune(s.Metric)) > 24 {
		c.printf(`<title>%s</title>`, esc(s.Metric))
	}
	for k := 0; k < steps; k++ {
		t := 1 - (float64(k)+0.5)/steps
		fill := sequential(t)
		if s.Diverging {
			fill = diverging(t)
		}
		c.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, num(x), num(y+h*float64(k)/steps), num(w), num(h/steps+0.5), fill)
	}
	for _, t := range []float64{0, 0.5, 1} {
		c.printf(`<text x="%s" y="%s">%s</text>`, num(x+w+6), num(y+h*(1-t)+4), fmtVal(lo+t*(hi-lo)))
	}
	if s.MarkLabel != "" {
		c.printf(`<rect class="mo" x="%s" y="%s" width="12" height="12"/><text x="%s" y="%s">%s</text>`, num(x+1), num(y+h+14), num(x+20), num(y+h+24), esc(s.MarkLabel))
	}
	c.printf(`</g>`)
}
