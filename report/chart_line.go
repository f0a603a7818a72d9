package report

import (
	"fmt"
	"math"
	"strings"
)

// LineSpec describes a line chart: lines over x, each with an optional
// confidence band.
type LineSpec struct {
	Title, XLabel, YLabel, Note string
	Lines                       []LineData
	// YMin and YMax, when set, fix the y range (rates: 0 and 1); the data
	// still widens it when it falls outside.
	YMin, YMax *float64
	Refs       []RefLine
	// Palette, when set, lists series names in colour order, so that one
	// name keeps its colour across the charts of a report.
	Palette []string
}

// LineData is one line. Lo and Hi, when set, have the length of Y and
// bound a shaded band. NaN values break the line.
type LineData struct {
	Name   string
	X, Y   []float64
	Lo, Hi []float64
	Dash   bool
	// Points draws a dot at every value (for short series).
	Points bool
}

// LineChart draws s.
func LineChart(s LineSpec) *Chart {
	c := &Chart{Kind: "line", Title: s.Title, Note: s.Note, Width: 720, Height: 340}
	var xs, ys [][]float64
	for _, l := range s.Lines {
		xs = append(xs, l.X)
		ys = append(ys, l.Y, l.Lo, l.Hi)
	}
	xlo, xhi := extent(xs...)
	ylo, yhi := extent(ys...)
	xlo, xhi = withRefs(xlo, xhi, s.Refs, "x")
	ylo, yhi = withRefs(ylo, yhi, s.Refs, "y")
	if s.YMin != nil {
		ylo = math.Min(ylo, *s.YMin)
	}
	if s.YMax != nil {
		yhi = math.Max(yhi, *s.YMax)
	}
	legendW := 0.0
	if len(s.Lines) > 1 {
		var names []string
		for _, l := range s.Lines {
			names = append(names, l.Name)
		}
		legendW = legendWidth(names)
	}
	f := newFrame(c.Width, c.Height, legendW, xlo, xhi, ylo, yhi)
	if integral(xs...) {
		f.xTicks = integralTicks(f.xTicks) // layers and steps have no halves
	}
	c.open()
	c.axes(f, s.XLabel, s.YLabel)
	pal := palette{names: append([]string(nil), s.Palette...)}
	var items []legendItem
	for _, l := range s.Lines {
		col := pal.color(l.Name)
		items = append(items, legendItem{name: l.Name, color: col, dash: l.Dash})
		if len(l.Lo) == len(l.Y) && len(l.Hi) == len(l.Y) && len(l.Y) > 0 {
			c.band(f, l, col)
		}
	}
	for _, l := range s.Lines {
		c.line(f, l, pal.color(l.Name))
	}
	c.refs(f, s.Refs)
	if legendW > 0 {
		c.legend(f.right+16, f.top+8, items)
	}
	c.close()
	return c
}

// band shades [Lo, Hi] under a line, one polygon per unbroken run.
func (c *Chart) band(f frame, l LineData, col string) {
	for _, run := range runs(l.X, l.Lo, l.Hi) {
		var pts []string
		var data []float64
		for _, i := range run {
			pts = append(pts, num(f.x.at(l.X[i]))+","+num(f.y.at(l.Hi[i])))
			data = append(data, l.X[i], l.Lo[i], l.Hi[i])
		}
		for k := len(run) - 1; k >= 0; k-- {
			i := run[k]
			pts = append(pts, num(f.x.at(l.X[i]))+","+num(f.y.at(l.Lo[i])))
		}
		c.printf(`<polygon points="%s" fill="%s" fill-opacity="0.18" stroke="none"%s><title>%s: 95%% CI</title></polygon>`,
			strings.Join(pts, " "), col, c.mark(Mark{Type: "band", Series: l.Name, Data: data, Pixels: []float64{f.x.at(l.X[run[0]]), f.x.at(l.X[run[len(run)-1]])}, Color: col}), esc(l.Name))
	}
}

func (c *Chart) line(f frame, l LineData, col string) {
	dash := ""
	if l.Dash {
		dash = ` stroke-dasharray="6 4"`
	}
	for _, run := range runs(l.X, l.Y) {
		pts := make([]string, len(run))
		data := make([]float64, 0, 2*len(run))
		px := make([]float64, 0, 2*len(run))
		for k, i := range run {
			x, y := f.x.at(l.X[i]), f.y.at(l.Y[i])
			pts[k] = num(x) + "," + num(y)
			data = append(data, l.X[i], l.Y[i])
			px = append(px, x, y)
		}
		c.printf(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s%s><title>%s</title></polyline>`,
			strings.Join(pts, " "), col, dash, c.mark(Mark{Type: "line", Series: l.Name, Data: data, Pixels: px, Color: col}), esc(l.Name))
		if l.Points || len(run) == 1 {
			for _, i := range run {
				x, y := f.x.at(l.X[i]), f.y.at(l.Y[i])
				tip := fmt.Sprintf("%s: x %s, y %s", l.Name, fmtVal(l.X[i]), fmtVal(l.Y[i]))
				if len(l.Lo) == len(l.Y) && len(l.Hi) == len(l.Y) {
					tip += fmt.Sprintf(" [%s, %s]", fmtVal(l.Lo[i]), fmtVal(l.Hi[i]))
				}
				c.printf(`<circle cx="%s" cy="%s" r="3.5" fill="%s"%s><title>%s</title></circle>`,
					num(x), num(y), col, c.mark(Mark{Type: "point", Series: l.Name, Data: []float64{l.X[i], l.Y[i]}, Pixels: []float64{x, y}, Color: col}), esc(tip))
			}
		}
	}
}

// runs splits the indices of x into maximal runs where every slice has a
// finite value.
func runs(x []float64, ys ...[]float64) [][]int {
	var out [][]int
	var cur []int
	for i := range x {
		ok := !math.IsNaN(x[i]) && !math.IsInf(x[i], 0)
		for _, y := range ys {
			ok = ok && i < len(y) && !math.IsNaN(y[i]) && !math.IsInf(y[i], 0)
		}
		if ok {
			cur = append(cur, i)
			continue
		}
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// integral reports whether every finite value is a whole number.
func integral(vs ...[]float64) bool {
	for _, v := range vs {
		for _, x := range v {
			if !math.IsNaN(x) && !math.IsInf(x, 0) && x != math.Trunc(x) {
				return false
			}
		}
	}
	return true
}

// integralTicks keeps the whole-number ticks (all of them when fewer than
// two are whole, so an axis never loses its labels).
func integralTicks(ticks []float64) []float64 {
	var out []float64
	for _, t := range ticks {
		if t == math.Trunc(t) {
			out = append(out, t)
		}
	}
	if len(out) < 2 {
		return ticks
	}
	return out
}
