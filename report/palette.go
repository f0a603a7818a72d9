package report

import (
	"fmt"
	"math"
)

// okabeIto is the Okabe-Ito palette, ordered so that the first colours
// stay distinct on white (its yellow, hard to see on white, comes late).
var okabeIto = []string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"}

// categoryColor returns the i-th categorical colour, cycling.
func categoryColor(i int) string { return okabeIto[i%len(okabeIto)] }

// palette hands out category colours in order of first request.
type palette struct {
	names []string
}

func (p *palette) color(name string) string {
	for i, n := range p.names {
		if n == name {
			return categoryColor(i)
		}
	}
	p.names = append(p.names, name)
	return categoryColor(len(p.names) - 1)
}

// viridisStops samples matplotlib's viridis at nine even points; a
// sequential scale that stays ordered in grey and for colour-blind readers.
var viridisStops = [][3]float64{
	{68, 1, 84}, {71, 44, 122}, {59, 81, 139}, {44, 113, 142}, {33, 144, 141},
	{39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37},
}

// divergingStops run blue (low) through near-white to orange (high): the
// blue-orange pair is the one that every common colour-vision deficiency
// still separates.
var divergingStops = [][3]float64{
	{8, 69, 148}, {66, 146, 198}, {158, 202, 225}, {247, 247, 247},
	{253, 208, 162}, {241, 105, 19}, {127, 39, 4},
}

// sequential maps t in [0, 1] to a viridis colour.
func sequential(t float64) string { return interpolate(viridisStops, t) }

// diverging maps t in [0, 1] (0.5 the centre) to a blue-orange colour.
func diverging(t float64) string { return interpolate(divergingStops, t) }

func interpolate(stops [][3]float64, t float64) string {
	if math.IsNaN(t) {
		return "#cccccc"
	}
	t = math.Max(0, math.Min(1, t))
	f := t * float64(len(stops)-1)
	i := int(f)
	if i >= len(stops)-1 {
		i = len(stops) - 2
	}
	u := f - float64(i)
	a, b := stops[i], stops[i+1]
	return fmt.Sprintf("#%02x%02x%02x", int(math.Round(a[0]+(b[0]-a[0])*u)),
		int(math.Round(a[1]+(b[1]-a[1])*u)), int(math.Round(a[2]+(b[2]-a[2])*u)))
}

// textOn returns black or white, whichever reads better on the hex colour bg.
func textOn(bg string) string {
	var r, g, b int
	if _, err := fmt.Sscanf(bg, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return "#000"
	}
	// Relative luminance with the sRGB weights; 0.5 splits well enough.
	if (0.2126*float64(r)+0.7152*float64(g)+0.0722*float64(b))/255 > 0.5 {
		return "#000"
	}
	return "#fff"
}
