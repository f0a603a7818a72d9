package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// ScatterSpec describes a scatter plot. Points of one group share a
// colour; the groups in Connect have their points joined in x order (a
// frontier).
type ScatterSpec struct {
	Title, XLabel, YLabel, Note string
	Points                      []ScatterPoint
	// Connect lists the groups whose points are joined in x order.
	Connect []string
	// XMin, XMax, YMin, YMax, when set, widen the ranges to include them.
	XMin, XMax, YMin, YMax *float64
	Refs                   []RefLine
	// Labels writes each solid point's label beside it (few points only).
	Labels bool
	// HollowLabel, when set, names the hollow points in the legend (e.g.
	// "other seeds").
	HollowLabel string
}

// ScatterPoint is one point; YCI and XCI, when set, draw whiskers.
type ScatterPoint struct {
	X, Y   float64
	YCI    *[2]float64
	XCI    *[2]float64
	Group  string
	Label  string
	Hollow bool // drawn as a ring (e.g. not flagged, another seed)
	// Unjoined keeps the point out of its group's connecting line.
	Unjoined bool
}

// Scatter draws s.
func Scatter(s ScatterSpec) *Chart {
	c := &Chart{Kind: "scatter", Title: s.Title, Note: s.Note, Width: 720, Height: 380}
	var xs, ys []float64
	for _, p := range s.Points {
		xs = append(xs, p.X)
		ys = append(ys, p.Y)
		if p.YCI != nil {
			ys = append(ys, p.YCI[0], p.YCI[1])
		}
		if p.XCI != nil {
			xs = append(xs, p.XCI[0], p.XCI[1])
		}
	}
	for _, v := range []*float64{s.XMin, s.XMax} {
		if v != nil {
			xs = append(xs, *v)
		}
	}
	for _, v := range []*float64{s.YMin, s.YMax} {
		if v != nil {
			ys = append(ys, *v)
		}
	}
	xlo, xhi := extent(xs)
	ylo, yhi := extent(ys)
	xlo, xhi = withRefs(xlo, xhi, s.Refs, "x")
	ylo, yhi = withRefs(ylo, yhi, s.Refs, "y")
	groups := map[string]bool{}
	var order []string
	for _, p := range s.Points {
		if !groups[p.Group] {
			groups[p.Group] = true
			order = append(order, p.Group)
		}
	}
	legendW := 0.0
	if len(order) > 1 || (len(order) == 1 && order[0] != "") {
		legendW = legendWidth(append(order, s.HollowLabel))
	}
	f := newFrame(c.Width, c.Height, legendW, xlo, xhi, ylo, yhi)
	c.open()
	c.axes(f, s.XLabel, s.YLabel)
	c.refs(f, s.Refs)
	var pal palette
	var items []legendItem
	for _, g := range order {
		items = append(items, legendItem{name: g, color: pal.color(g), shape: "dot"})
	}
	for _, g := range s.Connect {
		var pts []ScatterPoint
		for _, p := range s.Points {
			if p.Group == g && !p.Unjoined {
				pts = append(pts, p)
			}
		}
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
		if len(pts) < 2 {
			continue
		}
		var ps []string
		var data, px []float64
		for _, p := range pts {
			x, y := f.x.at(p.X), f.y.at(p.Y)
			ps = append(ps, num(x)+","+num(y))
			data, px = append(data, p.X, p.Y), append(px, x, y)
		}
		col := pal.color(g)
		c.printf(`<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-opacity="0.7"%s/>`,
			strings.Join(ps, " "), col, c.mark(Mark{Type: "line", Series: g, Data: data, Pixels: px, Color: col}))
	}
	for _, p := range s.Points {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) {
			continue
		}
		col := pal.color(p.Group)
		x, y := f.x.at(p.X), f.y.at(p.Y)
		if p.YCI != nil {
			y0, y1 := f.y.at(p.YCI[0]), f.y.at(p.YCI[1])
			c.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="1.5"%s/>`, num(x), num(x), num(y0), num(y1), col,
				c.mark(Mark{Type: "whisker", Series: p.Group, Label: p.Label, Data: []float64{p.Y, p.YCI[0], p.YCI[1]}, Pixels: []float64{x, y0, y1}, Color: col}))
		}
		if p.XCI != nil {
			x0, x1 := f.x.at(p.XCI[0]), f.x.at(p.XCI[1])
			c.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="1.5"%s/>`, num(x0), num(x1), num(y), num(y), col,
				c.mark(Mark{Type: "whisker", Series: p.Group, Label: p.Label, Data: []float64{p.X, p.XCI[0], p.XCI[1]}, Pixels: []float64{y, x0, x1}, Color: col}))
		}
		fill := col
		if p.Hollow {
			fill = "#fff"
		}
		tip := fmt.Sprintf("%s: %s %s, %s %s", p.Label, s.XLabel, fmtVal(p.X), s.YLabel, fmtVal(p.Y))
		if p.YCI != nil {
			tip += fmt.Sprintf(" [%s, %s]", fmtVal(p.YCI[0]), fmtVal(p.YCI[1]))
		}
		c.printf(`<circle cx="%s" cy="%s" r="4.5" fill="%s" stroke="%s" stroke-width="1.5"%s><title>%s</title></circle>`,
			num(x), num(y), fill, col, c.mark(Mark{Type: "point", Series: p.Group, Label: p.Label, Data: []float64{p.X, p.Y}, Pixels: []float64{x, y}, Color: col}), esc(tip))
		if s.Labels && p.Label != "" && !p.Hollow {
			c.printf(`<text class="pl" x="%s" y="%s">%s</text>`, num(x+7), num(y-6), esc(truncate(p.Label, 18)))
		}
	}
	if s.HollowLabel != "" {
		items = append(items, legendItem{name: s.HollowLabel, color: "#444", shape: "ringdot"})
	}
	if legendW > 0 {
		c.legend(f.right+16, f.top+8, items)
	}
	c.close()
	return c
}

// ptr returns a pointer to v (for the optional ranges).
func ptr(v float64) *float64 { return &v }
