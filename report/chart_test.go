package report

import (
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCharts are small charts of every kind with known data.
func goldenCharts() map[string]*Chart {
	nan := math.NaN()
	return map[string]*Chart{
		"line": LineChart(LineSpec{Title: "gold by step", XLabel: "step", YLabel: "gold", YMin: ptr(0), YMax: ptr(1),
			Lines: []LineData{
				{Name: "a", X: []float64{0, 10, 20, 30}, Y: []float64{0.5, 0.6, nan, 0.8}, Lo: []float64{0.4, 0.5, nan, 0.7}, Hi: []float64{0.6, 0.7, nan, 0.9}, Points: true},
				{Name: "b", X: []float64{0, 30}, Y: []float64{0.2, 0.3}, Dash: true},
			},
			Refs: []RefLine{{Axis: "y", Value: 0.5, Label: "chance"}}}),
		"scatter": Scatter(ScatterSpec{Title: "frontier", XLabel: "KL", YLabel: "gold", Connect: []string{"DPO"}, Labels: true,
			Points: []ScatterPoint{
				{X: 0.3, Y: 0.7, YCI: &[2]float64{0.6, 0.8}, Group: "DPO", Label: "beta 0.3"},
				{X: 0.1, Y: 0.6, YCI: &[2]float64{0.5, 0.7}, Group: "DPO", Label: "beta 0.1"},
				{X: 0.5, Y: 0.65, XCI: &[2]float64{0.4, 0.6}, Group: "RLHF", Label: "kl 0.05", Hollow: true},
			}}),
		"heatmap": Heatmap(HeatSpec{Title: "patching", RowName: "layer", ColName: "position", Metric: "logit diff",
			Rows: []string{"0", "1"}, Cols: []string{"a", "b", "c"}, Diverging: true,
			Values: [][]float64{{-1, 0, 0.5}, {2, nan, -0.25}}, Marked: [][]bool{{false, true, false}, {false, false, false}}, MarkLabel: "flagged"}),
		"forest": Forest(ForestSpec{Title: "scorecard", XLabel: "rate", Ref: ptr(0), RefLabel: "no effect",
			Rows: []ForestRow{
				{Label: "sycophancy", Group: "probe", Est: 0.3, Lo: 0.2, Hi: 0.4, Flagged: true, Threshold: ptr(0.25), FlagName: "FAIL"},
				{Label: "mirage", Group: "probe", Est: -0.05, Lo: -0.1, Hi: 0.02, UnflaggedName: "pass"},
			}}),
		"ternary": Ternary(TernarySpec{Title: "trilemma", Axes: [3]string{"opt", "val", "gen"},
			Points: []TernaryPoint{{Label: "p", Group: "g", V: [3]float64{0.6, 0.3, 0.3}}, {Label: "q", Group: "h", V: [3]float64{0.2, 0.4, 0.4}}}}),
	}
}

// TestChartGolden checks what each chart kind placed (data and pixel
// positions of every mark) against testdata/golden; run with -update
// after an intended layout change and review the diff.
func TestChartGolden(t *testing.T) {
	for name, c := range goldenCharts() {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(jsonMarks(c.Marks), "", " ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./report -run TestChartGolden -update to create it)", err)
			}
			if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
				t.Errorf("%s marks differ from %s:\n%s", name, path, got)
			}
		})
	}
}

// jsonMarks is marks with NaN data as null (JSON has no NaN).
func jsonMarks(ms []Mark) []map[string]any {
	out := make([]map[string]any, len(ms))
	for i, m := range ms {
		data := make([]any, len(m.Data))
		for j, v := range m.Data {
			if !math.IsNaN(v) {
				data[j] = v
			}
		}
		out[i] = map[string]any{"type": m.Type, "series": m.Series, "label": m.Label, "data": data, "pixels": m.Pixels, "color": m.Color}
	}
	return out
}

// TestChartSVGMatchesMarks parses each chart's SVG as XML and checks that
// every recorded mark is an element with its data attributes, and the
// root says what kind of chart it is.
func TestChartSVGMatchesMarks(t *testing.T) {
	for name, c := range goldenCharts() {
		t.Run(name, func(t *testing.T) {
			dec := xml.NewDecoder(strings.NewReader(c.SVG()))
			var marks []string
			root := ""
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("SVG is not well-formed: %v", err)
				}
				se, ok := tok.(xml.StartElement)
				if !ok {
					continue
				}
				seen := map[string]bool{}
				for _, a := range se.Attr {
					if seen[a.Name.Local] {
						t.Errorf("<%s> repeats attribute %s", se.Name.Local, a.Name.Local)
					}
					seen[a.Name.Local] = true
					if a.Name.Local == "data-chart" {
						root = a.Value
					}
					if a.Name.Local == "data-mark" {
						marks = append(marks, a.Value)
					}
				}
			}
			if root != c.Kind {
				t.Errorf("data-chart %q, want %q", root, c.Kind)
			}
			if len(marks) != len(c.Marks) {
				t.Fatalf("%d elements with data-mark, %d marks recorded", len(marks), len(c.Marks))
			}
			for i, m := range c.Marks {
				if marks[i] != m.Type {
					t.Errorf("element %d is a %q, mark is a %q", i, marks[i], m.Type)
				}
			}
		})
	}
}

// TestChartGeometry spells out a few positions by hand, so that the
// golden files are not the only check on the scales.
func TestChartGeometry(t *testing.T) {
	cs := goldenCharts()
	line := cs["line"]
	// Plot area: left 64, right 720-16-legend, top 32, bottom 340-48; y
	// range 0..1 exactly (YMin/YMax are round), x 0..30.
	var pts [][]float64
	for _, m := range line.Marks {
		if m.Type == "point" && m.Series == "a" {
			pts = append(pts, m.Pixels)
		}
	}
	if len(pts) != 3 {
		t.Fatalf("line a: %d points, want 3 (the NaN is skipped)", len(pts))
	}
	if pts[0][0] != 64 || pts[0][1] != 292-0.5*260 {
		t.Errorf("first point at %v, want [64 162]", pts[0])
	}
	var lines int
	for _, m := range line.Marks {
		if m.Type == "line" && m.Series == "a" {
			lines++
		}
	}
	if lines != 2 {
		t.Errorf("line a drawn as %d pieces, want 2 (broken at the NaN)", lines)
	}
	heat := cs["heatmap"]
	var cells, marked int
	for _, m := range heat.Marks {
		switch m.Type {
		case "cell":
			cells++
		case "cell-marked":
			marked++
			if m.Label != "0|b" {
				t.Errorf("marked cell %q, want 0|b", m.Label)
			}
		case "colorbar":
			// Diverging scales are symmetric about the centre.
			if m.Data[0] != -2 || m.Data[1] != 2 {
				t.Errorf("colour range %v, want [-2 2]", m.Data)
			}
		}
	}
	if cells+marked != 6 || marked != 1 {
		t.Errorf("%d cells (%d marked), want 6 (1)", cells+marked, marked)
	}
	for _, m := range heat.Marks {
		if m.Type == "cell" && m.Label == "1|a" && m.Color != diverging(1) {
			t.Errorf("the largest value is %s, want the scale's top %s", m.Color, diverging(1))
		}
	}
	forest := cs["forest"]
	for _, m := range forest.Marks {
		if m.Type == "interval" && m.Label == "sycophancy" && !(m.Pixels[1] < m.Pixels[0] && m.Pixels[0] < m.Pixels[2]) {
			t.Errorf("interval pixels %v: estimate not between its bounds", m.Pixels)
		}
	}
	tern := cs["ternary"]
	var p, q []float64
	for _, m := range tern.Marks {
		if m.Label == "p" {
			p = m.Pixels
		}
		if m.Label == "q" {
			q = m.Pixels
		}
	}
	if p == nil || q == nil || !(p[1] < q[1]) {
		t.Errorf("the point with the larger first score should sit higher: p %v, q %v", p, q)
	}
	if !(p[2] < q[2]) == (0.6+0.3+0.3 < 0.2+0.4+0.4) {
		t.Errorf("marker size should grow with the mean score: p %v, q %v", p, q)
	}
}

func TestNiceRange(t *testing.T) {
	for _, c := range []struct {
		lo, hi         float64
		wantLo, wantHi float64
	}{
		{0, 1, 0, 1},
		{0.13, 0.87, 0, 1},
		{0.13, 0.37, 0.1, 0.4},
		{-0.05, 0.93, -0.2, 1},
		{5, 5, 4.4, 5.6},
		{0, 1614, 0, 2000},
	} {
		lo, hi, ticks := niceRange(c.lo, c.hi, 5)
		if lo != c.wantLo || hi != c.wantHi {
			t.Errorf("niceRange(%g, %g) = %g, %g; want %g, %g", c.lo, c.hi, lo, hi, c.wantLo, c.wantHi)
		}
		if ticks[0] != lo || math.Abs(ticks[len(ticks)-1]-hi) > 1e-9 {
			t.Errorf("niceRange(%g, %g) ticks %v do not span [%g, %g]", c.lo, c.hi, ticks, lo, hi)
		}
	}
}

func TestPalettes(t *testing.T) {
	if sequential(0) != "#440154" || sequential(1) != "#fde725" {
		t.Errorf("viridis ends %s %s", sequential(0), sequential(1))
	}
	if diverging(0.5) != "#f7f7f7" {
		t.Errorf("diverging centre %s, want near-white", diverging(0.5))
	}
	if textOn(sequential(0)) != "#fff" || textOn(sequential(1)) != "#000" {
		t.Error("cell text should be white on dark purple and black on yellow")
	}
	var p palette
	if p.color("x") != okabeIto[0] || p.color("y") != okabeIto[1] || p.color("x") != okabeIto[0] {
		t.Error("palette should hand out Okabe-Ito colours in order, stably")
	}
}

// TestTernaryZoomKeepsPointsInside: when the points sit close together the
// zoom is limited, and a point still lands where its shares put it: one
// balanced point at the triangle's centroid, not outside the triangle.
func TestTernaryZoomKeepsPointsInside(t *testing.T) {
	c := Ternary(TernarySpec{Title: "t", Axes: [3]string{"a", "b", "c"}, Points: []TernaryPoint{{Label: "p", Group: "g", V: [3]float64{0.5, 0.5, 0.5}}}})
	m := regexp.MustCompile(`<circle cx="([0-9.]+)" cy="([0-9.]+)" r="[0-9.]+" fill="[^"]*" fill-opacity`).FindStringSubmatch(c.SVG())
	if m == nil {
		t.Fatal("no point drawn")
	}
	x, _ := strconv.ParseFloat(m[1], 64)
	y, _ := strconv.ParseFloat(m[2], 64)
	h := 360 * math.Sqrt(3) / 2
	cx, cy := 270.0, (56+2*(56+h))/3
	if math.Abs(x-cx) > 1 || math.Abs(y-cy) > 1 {
		t.Fatalf("balanced point at (%.1f, %.1f), want the centroid (%.1f, %.1f)", x, y, cx, cy)
	}
}
