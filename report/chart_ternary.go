package report

import (
	"fmt"
	"math"
)

// TernarySpec describes a triangle (ternary) plot of three scores per
// point, each in [0, 1]. A point sits at the barycentric position of its
// scores' shares (which axis dominates) and its size grows with their
// mean (how high it scores overall): both matter for a trilemma, and a
// plain ternary plot would hide the second. The triangle zooms to the
// sub-triangle that holds the points, with the shares marked on its grid.
type TernarySpec struct {
	Title, Note string
	// Axes name the corners: top, bottom left, bottom right.
	Axes   [3]string
	Points []TernaryPoint
}

// TernaryPoint is one point's three scores.
type TernaryPoint struct {
	Label, Group string
	V            [3]float64
}

// Ternary draws s.
func Ternary(s TernarySpec) *Chart {
	c := &Chart{Kind: "ternary", Title: s.Title, Note: s.Note, Width: 760}
	type placed struct {
		p     TernaryPoint
		share [3]float64
	}
	var pts []placed
	for _, p := range s.Points {
		sum := p.V[0] + p.V[1] + p.V[2]
		if !(sum > 0) || math.IsInf(sum, 0) {
			continue
		}
		pts = append(pts, placed{p, [3]float64{p.V[0] / sum, p.V[1] / sum, p.V[2] / sum}})
	}
	// The zoomed sub-triangle: each share's minimum over the points, less
	// a margin, rounded down to 0.05; the side is what the minima leave.
	var lo [3]float64
	for k := range lo {
		lo[k] = 1
		for _, p := range pts {
			lo[k] = math.Min(lo[k], p.share[k])
		}
		if len(pts) == 0 {
			lo[k] = 0
		}
		lo[k] = math.Max(0, math.Floor((lo[k]-0.03)*20)/20)
	}
	// A side below 0.15 zooms too far: the minima are lowered, evenly while
	// they can, so that the shares of every point still sum to 1 on the
	// zoomed triangle (a larger side on the same minima would not).
	for i := 0; i < 3 && 1-lo[0]-lo[1]-lo[2] < 0.15; i++ {
		n := 0
		for _, l := range lo {
			if l > 0 {
				n++
			}
		}
		extra := (0.15 - (1 - lo[0] - lo[1] - lo[2])) / float64(max(n, 1))
		for k := range lo {
			lo[k] = math.Max(0, lo[k]-extra)
		}
	}
	side := 1 - lo[0] - lo[1] - lo[2]
	const px = 360.0
	h := px * math.Sqrt(3) / 2
	ax, ay := 90+px/2, 56.0
	bx, by := 90.0, ay+h
	cx, cy := 90+px, ay+h
	at := func(sh [3]float64) (float64, float64) {
		a, b, cc := (sh[0]-lo[0])/side, (sh[1]-lo[1])/side, (sh[2]-lo[2])/side
		return a*ax + b*bx + cc*cx, a*ay + b*by + cc*cy
	}
	groups := map[string]bool{}
	for _, p := range pts {
		groups[p.p.Group] = true
	}
	listTop := 64 + 18*float64(len(groups)) + 86
	c.Height = math.Max(ay+h+56, listTop+16*float64(len(pts))+10)
	c.open()
	c.printf(`<g class="ax">`)
	// Grid: lines of constant share at round values inside the zoom.
	_, _, ticks := niceRange(0, side, 5)
	step := 0.1
	if len(ticks) > 1 {
		step = ticks[1] - ticks[0]
	}
	for k := 0; k < 3; k++ {
		for t := math.Ceil(lo[k]/step+1e-9) * step; t < lo[k]+side-1e-9; t += step {
			var p, q [3]float64
			p[k], q[k] = t, t
			p[(k+1)%3] = lo[(k+1)%3] + side - (t - lo[k])
			p[(k+2)%3] = lo[(k+2)%3]
			q[(k+2)%3] = lo[(k+2)%3] + side - (t - lo[k])
			q[(k+1)%3] = lo[(k+1)%3]
			x1, y1 := at(p)
			x2, y2 := at(q)
			c.printf(`<line class="gr" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x1), num(y1), num(x2), num(y2))
			// Label where the line meets its second edge: the right edge for
			// the top axis, the left for the bottom-left, the base for the
			// bottom-right, prefixed with the axis's initial.
			lx, ly, anchor := x2+4, y2+4, "start"
			switch k {
			case 1:
				lx, anchor = x2-4, "end"
			case 2:
				lx, ly, anchor = x2, y2+14, "middle"
			}
			c.printf(`<text class="rt" x="%s" y="%s" text-anchor="%s">%s %s</text>`, num(lx), num(ly), anchor,
				esc(string([]rune(s.Axes[k])[:min(3, len([]rune(s.Axes[k])))])), tickLabel(math.Round(t*1000)/1000))
		}
	}
	c.printf(`<polygon points="%s,%s %s,%s %s,%s" class="tri"/>`, num(ax), num(ay), num(bx), num(by), num(cx), num(cy))
	center := [3]float64{1.0 / 3, 1.0 / 3, 1.0 / 3}
	if center[0] >= lo[0] && center[1] >= lo[1] && center[2] >= lo[2] {
		ox, oy := at(center)
		c.printf(`<path d="M%s %sh10M%s %sv10" stroke="#666" stroke-width="1.5"><title>balanced: equal shares</title></path>`, num(ox-5), num(oy), num(ox), num(oy-5))
	}
	c.printf(`<text class="al" x="%s" y="%s" text-anchor="middle">%s (share)</text>`, num(ax), num(ay-12), esc(s.Axes[0]))
	c.printf(`<text class="al" x="%s" y="%s" text-anchor="middle">%s</text>`, num(bx), num(by+34), esc(s.Axes[1]))
	c.printf(`<text class="al" x="%s" y="%s" text-anchor="middle">%s</text>`, num(cx), num(cy+34), esc(s.Axes[2]))
	c.printf(`</g>`)
	var pal palette
	var items []legendItem
	seen := map[string]bool{}
	for i, p := range pts {
		x, y := at(p.share)
		mean := (p.p.V[0] + p.p.V[1] + p.p.V[2]) / 3
		r := 3 + 9*math.Max(0, math.Min(1, mean))
		col := pal.color(p.p.Group)
		if !seen[p.p.Group] {
			seen[p.p.Group] = true
			items = append(items, legendItem{name: p.p.Group, color: col, shape: "dot"})
		}
		tip := fmt.Sprintf("%d %s: %s %.3f, %s %.3f, %s %.3f", i+1, p.p.Label, s.Axes[0], p.p.V[0], s.Axes[1], p.p.V[1], s.Axes[2], p.p.V[2])
		c.printf(`<circle cx="%s" cy="%s" r="%s" fill="%s" fill-opacity="0.45" stroke="%s" stroke-width="1.5"%s><title>%s</title></circle>`,
			num(x), num(y), num(r), col, col, c.mark(Mark{Type: "point", Series: p.p.Group, Label: p.p.Label, Data: []float64{p.p.V[0], p.p.V[1], p.p.V[2]}, Pixels: []float64{x, y, r}, Color: col}), esc(tip))
		c.printf(`<text class="pl" x="%s" y="%s" text-anchor="middle">%d</text>`, num(x), num(y-r-2), i+1)
	}
	lx := cx + 60
	c.legend(lx, 64, items)
	y := 64 + 18*float64(len(items)) + 10
	c.printf(`<g class="lg"><text x="%s" y="%s">size: mean of the three scores</text>`, num(lx), num(y))
	for k, m := range []float64{0.25, 0.5, 0.75} {
		cxp := lx + 14 + float64(k)*56
		c.printf(`<circle cx="%s" cy="%s" r="%s" fill="none" stroke="#444"/><text x="%s" y="%s" text-anchor="middle">%s</text>`,
			num(cxp), num(y+24), num(3+9*m), num(cxp), num(y+50), tickLabel(m))
	}
	y = listTop
	for i, p := range pts {
		c.printf(`<text x="%s" y="%s">%d  %s</text>`, num(lx), num(y+16*float64(i)), i+1, esc(truncate(p.p.Label, 30)))
	}
	c.printf(`</g>`)
	c.close()
	return c
}
