package report

// DPO against RLHF (the gold-vs-KL frontier and the verdicts) and the
// trilemma triangle of a lab run.

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/lab"
)

func methodName(m string) string {
	switch m {
	case "dpo":
		return "DPO"
	case "rlhf":
		return "RLHF"
	}
	return m
}

// labCompare draws the frontier and the verdict table.
func labCompare(c *lab.Comparison, seed uint64) *Section {
	s := &Section{ID: "dpo-vs-rlhf", Title: "DPO against RLHF",
		Intro: "Both methods trained on the clean organism's preference data; DPO swept over beta, RLHF (PPO with a value model, against a Bradley-Terry reward model learned from the same labels) over its KL coefficient."}
	first := seed * 1000
	// Method colours the points; the first seed's sweep is joined into a
	// frontier and labelled, other seeds (the default setting repeated)
	// are hollow.
	var pts []ScatterPoint
	var connect []string
	hollow := ""
	for _, r := range c.Runs {
		g := methodName(r.Method)
		other := r.Seed != first
		if other {
			hollow = "other seeds (default setting)"
		}
		if !slices.Contains(connect, g) {
			connect = append(connect, g)
		}
		pts = append(pts, ScatterPoint{X: r.KL, Y: r.Gold.Estimate, YCI: &[2]float64{r.Gold.CILow, r.Gold.CIHigh}, Group: g,
			Label: fmt.Sprintf("%s %g", r.Param, r.Value), Hollow: other, Unjoined: other})
	}
	s.chart(Scatter(ScatterSpec{Title: "Gold reward against KL to the reference", XLabel: "KL to reference (nats per reply)",
		YLabel: "gold reward (share correct, 95% CI)", Points: pts, Connect: connect, Labels: true, XMin: ptr(0), HollowLabel: hollow,
		Note: "Each point is a trained policy: how much gold reward it earns for how far it moved from the reference. Up and to the left is better; a method whose line lies above the other's gets more for the same KL."}))
	if len(c.Verdicts) > 0 {
		t := &Table{Title: "Verdicts on the claims made for DPO", Columns: []string{"claim", "verdict", "evidence"}}
		for _, v := range c.Verdicts {
			t.Rows = append(t.Rows, []string{v.Claim, v.Verdict, v.Evidence})
			cls := ""
			switch {
			case strings.HasPrefix(v.Verdict, "supported"):
				cls = "good"
			case strings.HasPrefix(v.Verdict, "not supported"):
				cls = "bad"
			}
			t.Classes = append(t.Classes, cls)
		}
		s.table(t)
	}
	runs := &Table{Title: "Every trained policy", Columns: []string{"method", "setting", "seed", "gold", "95% CI", "greedy accuracy", "KL", "wall s", "CPU s", "peak heap MiB"}}
	for _, r := range c.Runs {
		runs.Rows = append(runs.Rows, []string{methodName(r.Method), fmt.Sprintf("%s=%g", r.Param, r.Value), fmt.Sprint(r.Seed), fmtVal(r.Gold.Estimate),
			fmt.Sprintf("[%s, %s]", fmtVal(r.Gold.CILow), fmtVal(r.Gold.CIHigh)), fmtVal(r.Greedy.Estimate), fmtVal(r.KL),
			fmt.Sprintf("%.1f", r.Seconds), fmt.Sprintf("%.1f", r.CPUSeconds), fmt.Sprintf("%.0f", r.PeakHeapMiB)})
	}
	if len(c.Runs) > 0 {
		runs.Note = fmt.Sprintf("Gold is sampled at temperature 1 on %d held-out prompts (%s). RLHF times include its reward model.", c.Runs[0].Gold.N, c.Runs[0].Gold.Test)
	}
	s.table(runs)
	if len(c.Spread) > 0 {
		t := &Table{Title: "Seed-to-seed spread of gold at the default setting", Columns: []string{"method", "seeds", "mean", "sd", "min", "max"}}
		keys := make([]string, 0, len(c.Spread))
		for k := range c.Spread {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sp := c.Spread[k]
			t.Rows = append(t.Rows, []string{methodName(k), fmt.Sprint(sp.N), fmtVal(sp.Mean), fmtVal(sp.SD), fmtVal(sp.Min), fmtVal(sp.Max)})
		}
		s.table(t)
	}
	return s
}

// trilemmaGroup names what kind of policy a trilemma entry is.
func trilemmaGroup(name string) string {
	switch {
	case name == "base":
		return "base (reference)"
	case strings.HasPrefix(name, "dpo_"):
		return "DPO sweep"
	case strings.HasPrefix(name, "rlhf_"):
		return "RLHF sweep"
	}
	return "organism"
}

// labTrilemma draws the triangle and the scores table.
func labTrilemma(tri map[string]lab.TrilemmaScore, note string) *Section {
	s := &Section{ID: "trilemma", Title: "The alignment trilemma",
		Intro: "Every policy scored on strong optimization, value capture and robust generalization, each in [0, 1]."}
	names := make([]string, 0, len(tri))
	for n := range tri {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		gi, gj := trilemmaGroup(names[i]), trilemmaGroup(names[j])
		if gi != gj {
			return gi > gj
		}
		return names[i] < names[j]
	})
	var pts []TernaryPoint
	t := &Table{Columns: []string{"policy", "kind", "optimization", "value capture", "generalization", "n"}}
	for _, n := range names {
		sc := tri[n]
		pts = append(pts, TernaryPoint{Label: n, Group: trilemmaGroup(n), V: [3]float64{sc.Optimization, sc.ValueCapture, sc.Generalization}})
		t.Rows = append(t.Rows, []string{n, trilemmaGroup(n), fmtVal(sc.Optimization), fmtVal(sc.ValueCapture), fmtVal(sc.Generalization), fmt.Sprint(sc.N)})
	}
	s.chart(Ternary(TernarySpec{Title: "Where each policy sits on the trilemma", Axes: [3]string{"optimization", "value capture", "generalization"},
		Points: pts,
		Note: "A point's position shows which of the three its scores favour (a corner: that axis dominates; the centre: balanced); its size shows how high the three are on average. " +
			"The trilemma says no policy gets large and central at once."}))
	t.Note = note
	s.table(t)
	return s
}
