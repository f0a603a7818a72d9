package report

import (
	"fmt"
	"math"
)

// ForestSpec describes a forest plot: one row per estimate with its
// confidence interval as a whisker, against an optional reference value.
type ForestSpec struct {
	Title, XLabel, Note string
	Rows                []ForestRow
	// Ref, when set, draws a vertical line (the null value, e.g. 0).
	Ref      *float64
	RefLabel string
}

// ForestRow is one estimate. Group colours it; Flagged fills the marker
// (unflagged rows are rings); Threshold, when set, is drawn as a tick.
type ForestRow struct {
	Label, Group  string
	Est, Lo, Hi   float64
	Flagged       bool
	Threshold     *float64
	Detail        string // tooltip text (test, n)
	FlagName      string // legend word for a filled marker ("flagged", "FAIL")
	UnflaggedName string // legend word for a ring ("not flagged", "pass")
}

// Forest draws s.
func Forest(s ForestSpec) *Chart {
	const rowH = 22.0
	c := &Chart{Kind: "forest", Title: s.Title, Note: s.Note, Width: 760}
	labelW := 60.0
	var vals []float64
	groups := []string{}
	seen := map[string]bool{}
	for _, r := range s.Rows {
		labelW = math.Max(labelW, 6.6*float64(len([]rune(truncate(r.Label, 44))))+12)
		vals = append(vals, r.Est, r.Lo, r.Hi)
		if r.Threshold != nil {
			vals = append(vals, *r.Threshold)
		}
		if !seen[r.Group] {
			seen[r.Group] = true
			groups = append(groups, r.Group)
		}
	}
	if s.Ref != nil {
		vals = append(vals, *s.Ref)
	}
	lo, hi := extent(vals)
	c.Height = 32 + rowH*float64(len(s.Rows)) + 56
	legendW := 150.0
	f := frame{left: labelW + 16, top: 32, right: c.Width - 16 - legendW, bottom: 32 + rowH*float64(len(s.Rows))}
	lo, hi, f.xTicks = niceRange(lo, hi, 6)
	f.x = scale{lo, hi, f.left, f.right}
	c.open()
	c.printf(`<g class="ax">`)
	for _, t := range f.xTicks {
		x := f.x.at(t)
		c.printf(`<line class="gr" x1="%s" x2="%s" y1="%s" y2="%s"/><text x="%s" y="%s" text-anchor="middle">%s</text>`,
			num(x), num(x), num(f.top), num(f.bottom), num(x), num(f.bottom+16), tickLabel(t))
	}
	c.printf(`<line class="bl" x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(f.left), num(f.right), num(f.bottom), num(f.bottom))
	c.printf(`<text class="al" x="%s" y="%s" text-anchor="middle">%s</text></g>`, num((f.left+f.right)/2), num(f.bottom+36), esc(s.XLabel))
	if s.Ref != nil {
		x := f.x.at(*s.Ref)
		c.printf(`<line class="rf" x1="%s" x2="%s" y1="%s" y2="%s"%s><title>%s</title></line>`, num(x), num(x), num(f.top-4), num(f.bottom),
			c.mark(Mark{Type: "ref", Label: s.RefLabel, Data: []float64{*s.Ref}, Pixels: []float64{x}}), esc(s.RefLabel))
	}
	var pal palette
	flagWord, ringWord := "", ""
	for i, r := range s.Rows {
		y := f.top + rowH*(float64(i)+0.5)
		col := pal.color(r.Group)
		if i%2 == 1 {
			c.printf(`<rect class="zb" x="0" y="%s" width="%s" height="%s"/>`, num(y-rowH/2), num(f.right), num(rowH))
		}
		c.printf(`<text class="cl" x="%s" y="%s" text-anchor="end">%s<title>%s</title></text>`, num(f.left-8), num(y+4), esc(truncate(r.Label, 44)), esc(r.Label))
		x0, x1, x := f.x.at(r.Lo), f.x.at(r.Hi), f.x.at(r.Est)
		c.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`, num(x0), num(x1), num(y), num(y), col,
			c.mark(Mark{Type: "interval", Series: r.Group, Label: r.Label, Data: []float64{r.Est, r.Lo, r.Hi}, Pixels: []float64{x, x0, x1, y}, Color: col}))
		for _, xe := range []float64{x0, x1} {
			c.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2"/>`, num(xe), num(xe), num(y-5), num(y+5), col)
		}
		if r.Threshold != nil {
			xt := f.x.at(*r.Threshold)
			c.printf(`<path d="M%s %sl-4 -7h8z" class="th"%s><title>threshold %s</title></path>`, num(xt), num(y-4),
				c.mark(Mark{Type: "threshold", Label: r.Label, Data: []float64{*r.Threshold}, Pixels: []float64{xt, y}}), fmtVal(*r.Threshold))
		}
		fill := "#fff"
		if r.Flagged {
			fill = col
			flagWord = r.FlagName
		} else {
			ringWord = r.UnflaggedName
		}
		tip := fmt.Sprintf("%s: %s [%s, %s]", r.Label, fmtVal(r.Est), fmtVal(r.Lo), fmtVal(r.Hi))
		if r.Detail != "" {
			tip += "; " + r.Detail
		}
		c.printf(`<circle cx="%s" cy="%s" r="5" fill="%s" stroke="%s" stroke-width="2"><title>%s</title></circle>`, num(x), num(y), fill, col, esc(tip))
	}
	var items []legendItem
	if len(groups) > 1 {
		for _, g := range groups {
			items = append(items, legendItem{name: g, color: pal.color(g), shape: "box"})
		}
	}
	if flagWord != "" {
		items = append(items, legendItem{name: flagWord, color: "#444", shape: "dot"})
	}
	if ringWord != "" {
		items = append(items, legendItem{name: ringWord, color: "#444", shape: "ringdot"})
	}
	for _, r := range s.Rows {
		if r.Threshold != nil {
			items = append(items, legendItem{name: "threshold", color: "#444", shape: "tri"})
			break
		}
	}
	c.legend(f.right+16, f.top+8, items)
	c.close()
	return c
}
