package report

// The chart core: a Chart is an SVG string plus the marks it placed, a
// linear scale with round ticks, axes and a legend. Each chart kind lives
// in its own chart_*.go file.

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart is one drawn chart. Marks lists every data mark in drawing order
// with the data it stands for and where it went, so that tests can check
// a chart's content without looking at pixels.
type Chart struct {
	// Kind is "line", "scatter", "heatmap", "forest" or "ternary"; the SVG
	// root carries it as data-chart.
	Kind  string `json:"kind"`
	Title string `json:"title"`
	// Note says in a sentence what the chart means; the page prints it
	// under the chart.
	Note   string  `json:"note,omitempty"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Marks  []Mark  `json:"marks"`
	svg    strings.Builder
}

// Mark is one data mark: a point, a line, a band, a heatmap cell, an
// interval. Data holds the values it encodes (for a point x and y; for an
// interval estimate, low and high; for a cell its value), Pixels where it
// was drawn (x, y, and for cells width and height).
type Mark struct {
	Type   string    `json:"type"`
	Series string    `json:"series,omitempty"`
	Label  string    `json:"label,omitempty"`
	Data   []float64 `json:"data"`
	Pixels []float64 `json:"pixels"`
	Color  string    `json:"color,omitempty"`
}

// SVG returns the chart's SVG element.
func (c *Chart) SVG() string { return c.svg.String() }

func (c *Chart) printf(format string, a ...any) { fmt.Fprintf(&c.svg, format, a...) }

// open starts the SVG element with its title.
func (c *Chart) open() {
	c.printf(`<svg data-chart="%s" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="%s">`,
		c.Kind, num(c.Width), num(c.Height), num(c.Width), num(c.Height), esc(c.Title))
	c.printf(`<text class="ct" x="%s" y="18">%s</text>`, num(8), esc(c.Title))
}

func (c *Chart) close() { c.svg.WriteString("</svg>") }

// mark records m and returns the data attributes and tooltip that tie
// the SVG element to it.
func (c *Chart) mark(m Mark) (attrs string) {
	for i := range m.Pixels {
		m.Pixels[i] = round2(m.Pixels[i])
	}
	c.Marks = append(c.Marks, m)
	vals := make([]string, len(m.Data))
	for i, v := range m.Data {
		vals[i] = numData(v)
	}
	a := fmt.Sprintf(` data-mark="%s" data-v="%s"`, m.Type, strings.Join(vals, ","))
	if m.Series != "" {
		a += fmt.Sprintf(` data-series="%s"`, esc(m.Series))
	}
	return a
}

// num formats a pixel coordinate compactly.
func num(v float64) string { return strconv.FormatFloat(round2(v), 'f', -1, 64) }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// numData formats a data value for a data attribute (NaN as "NaN").
func numData(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// tickLabel formats a round tick value without trailing zeros.
func tickLabel(v float64) string {
	if math.Abs(v) < 1e-12 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// legendWidth is the room a legend of these names needs beside a plot.
func legendWidth(names []string) float64 {
	w := 0.0
	for _, n := range names {
		w = math.Max(w, float64(len([]rune(truncate(n, 34)))))
	}
	return math.Min(260, 40+6.6*w)
}

// fmtVal formats a value for people: 3 significant digits, no exponent
// for ordinary magnitudes.
func fmtVal(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == 0:
		return "0"
	case math.Abs(v) >= 1e5 || math.Abs(v) < 1e-3:
		return strconv.FormatFloat(v, 'e', 2, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func esc(s string) string { return html.EscapeString(s) }

// scale maps a data interval onto a pixel interval.
type scale struct{ d0, d1, r0, r1 float64 }

func (s scale) at(v float64) float64 {
	if s.d1 == s.d0 {
		return (s.r0 + s.r1) / 2
	}
	return s.r0 + (v-s.d0)/(s.d1-s.d0)*(s.r1-s.r0)
}

// niceRange widens [lo, hi] to round tick values and returns the ticks
// (about n of them, steps of 1, 2 or 5 times a power of ten).
func niceRange(lo, hi float64, n int) (float64, float64, []float64) {
	if math.IsNaN(lo) || math.IsInf(lo, 0) || math.IsNaN(hi) || math.IsInf(hi, 0) {
		lo, hi = 0, 1
	}
	if hi < lo {
		lo, hi = hi, lo
	}
	if hi == lo {
		pad := math.Max(math.Abs(lo)*0.1, 0.5)
		lo, hi = lo-pad, hi+pad
	}
	raw := (hi - lo) / float64(max(n, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, f := range []float64{1, 2, 5, 10} {
		if raw <= f*mag*1.0000001 {
			step = f * mag
			break
		}
	}
	kl, kh := math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
	var ticks []float64
	for k := kl; k <= kh; k++ {
		ticks = append(ticks, clean(k*step))
	}
	return clean(kl * step), clean(kh * step), ticks
}

// clean drops float noise (28*0.2 = 5.6000000000000005) from a tick.
func clean(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	return r
}

// extent returns the finite minimum and maximum of the given slices.
func extent(vs ...[]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range vs {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// frame is a plot area with its two scales.
type frame struct {
	left, top, right, bottom float64
	x, y                     scale
	xTicks, yTicks           []float64
}

// newFrame lays out a plot area in a w x h chart for the data ranges.
func newFrame(w, h, legendW float64, xlo, xhi, ylo, yhi float64) frame {
	f := frame{left: 64, top: 32, right: w - 16 - legendW, bottom: h - 48}
	xlo, xhi, f.xTicks = niceRange(xlo, xhi, 6)
	ylo, yhi, f.yTicks = niceRange(ylo, yhi, 5)
	f.x = scale{xlo, xhi, f.left, f.right}
	f.y = scale{ylo, yhi, f.bottom, f.top}
	return f
}

// axes draws the grid, ticks and axis labels.
func (c *Chart) axes(f frame, xlabel, ylabel string) {
	c.printf(`<g class="ax">`)
	for _, t := range f.yTicks {
		y := f.y.at(t)
		c.printf(`<line class="gr" x1="%s" x2="%s" y1="%s" y2="%s"/><text x="%s" y="%s" text-anchor="end">%s</text>`,
			num(f.left), num(f.right), num(y), num(y), num(f.left-6), num(y+4), tickLabel(t))
	}
	for _, t := range f.xTicks {
		x := f.x.at(t)
		c.printf(`<line class="tk" x1="%s" x2="%s" y1="%s" y2="%s"/><text x="%s" y="%s" text-anchor="middle">%s</text>`,
			num(x), num(x), num(f.bottom), num(f.bottom+5), num(x), num(f.bottom+18), tickLabel(t))
	}
	c.printf(`<line class="bl" x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(f.left), num(f.right), num(f.bottom), num(f.bottom))
	c.printf(`<line class="bl" x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(f.left), num(f.left), num(f.top), num(f.bottom))
	c.printf(`<text class="al" x="%s" y="%s" text-anchor="middle">%s</text>`, num((f.left+f.right)/2), num(f.bottom+38), esc(xlabel))
	c.printf(`<text class="al" transform="translate(14 %s) rotate(-90)" text-anchor="middle">%s</text>`, num((f.top+f.bottom)/2), esc(ylabel))
	c.printf(`</g>`)
}

// legendItem is one entry of a chart's legend.
type legendItem struct {
	name, color string
	dash        bool
	shape       string // "line", "dot", "box", "ring"
}

// legend draws items in a column starting at (x, y).
func (c *Chart) legend(x, y float64, items []legendItem) {
	c.printf(`<g class="lg">`)
	for i, it := range items {
		yy := y + float64(i)*18
		switch it.shape {
		case "dot":
			c.printf(`<circle cx="%s" cy="%s" r="4" fill="%s"/>`, num(x+8), num(yy), it.color)
		case "box":
			c.printf(`<rect x="%s" y="%s" width="12" height="12" fill="%s"/>`, num(x+2), num(yy-6), it.color)
		case "ringdot":
			c.printf(`<circle cx="%s" cy="%s" r="4" fill="#fff" stroke="%s" stroke-width="2"/>`, num(x+8), num(yy), it.color)
		case "tri":
			c.printf(`<path d="M%s %sl-4 -7h8z" class="th"/>`, num(x+8), num(yy+3))
		case "ring":
			c.printf(`<rect x="%s" y="%s" width="12" height="12" fill="none" stroke="%s" stroke-width="2.5"/>`, num(x+2), num(yy-6), it.color)
		default:
			dash := ""
			if it.dash {
				dash = ` stroke-dasharray="5 3"`
			}
			c.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`, num(x), num(x+16), num(yy), num(yy), it.color, dash)
		}
		c.printf(`<text x="%s" y="%s">%s</text>`, num(x+22), num(yy+4), esc(truncate(it.name, 34)))
	}
	c.printf(`</g>`)
}

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// RefLine is a reference line across a chart: a threshold, a null value,
// a change point.
type RefLine struct {
	// Axis is "x" (a vertical line at X = Value) or "y".
	Axis  string
	Value float64
	Label string
}

// refs draws reference lines inside the frame (those outside are skipped).
func (c *Chart) refs(f frame, refs []RefLine) {
	for _, r := range refs {
		if r.Axis == "x" {
			x := f.x.at(r.Value)
			if x < f.left-0.5 || x > f.right+0.5 {
				continue
			}
			c.printf(`<line class="rf" x1="%s" x2="%s" y1="%s" y2="%s"%s><title>%s</title></line><text class="rt" x="%s" y="%s">%s</text>`,
				num(x), num(x), num(f.top), num(f.bottom), c.mark(Mark{Type: "ref", Label: r.Label, Data: []float64{r.Value}, Pixels: []float64{x}}),
				esc(r.Label), num(x+3), num(f.top+10), esc(r.Label))
			continue
		}
		y := f.y.at(r.Value)
		if y < f.top-0.5 || y > f.bottom+0.5 {
			continue
		}
		c.printf(`<line class="rf" x1="%s" x2="%s" y1="%s" y2="%s"%s><title>%s</title></line><text class="rt" x="%s" y="%s" text-anchor="end">%s</text>`,
			num(f.left), num(f.right), num(y), num(y), c.mark(Mark{Type: "ref", Label: r.Label, Data: []float64{r.Value}, Pixels: []float64{y}}),
			esc(r.Label), num(f.right-3), num(y-4), esc(r.Label))
	}
}

// withRefs widens [lo, hi] to include the reference values on axis.
func withRefs(lo, hi float64, refs []RefLine, axis string) (float64, float64) {
	for _, r := range refs {
		if r.Axis == axis && !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
			lo, hi = math.Min(lo, r.Value), math.Max(hi, r.Value)
		}
	}
	return lo, hi
}

func nan() float64 { return math.NaN() }
