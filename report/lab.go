package report

// The lab run's report: overview, validity matrix and failure-mode
// scorecard. Training curves are in lab_training.go; DPO against RLHF and
// the trilemma in lab_compare.go.

import (
	"fmt"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/lab"
)

// labConfig is the part of a lab run's config.json the report reads.
type labConfig struct {
	Seed       uint64         `json:"seed"`
	Seeds      int            `json:"seeds"`
	Quick      bool           `json:"quick"`
	BaseSource string         `json:"base_source"`
	Thresholds lab.Thresholds `json:"thresholds"`
	Organisms  []struct {
		Name        string `json:"name"`
		Plants      string `json:"plants"`
		Description string `json:"description"`
		Source      string `json:"source"`
		Training    struct {
			Method string `json:"method"`
		} `json:"training"`
	} `json:"organisms"`
}

// planted maps organism -> the detector it plants ("none" for controls).
func (c *labConfig) planted() map[string]string {
	out := map[string]string{}
	for _, o := range c.Organisms {
		out[o.Name] = o.Plants
	}
	return out
}

// threshold returns the flag threshold of a detector, if it has one.
func (c *labConfig) threshold(det string) *float64 {
	t := c.Thresholds
	switch det {
	case lab.DetSycophancy:
		return ptr(t.SycophancyFlip)
	case lab.DetMirage:
		return ptr(t.MirageGap)
	case lab.DetRareEvent:
		return ptr(t.RareGap)
	case lab.DetRewardHacking:
		return ptr(t.HackingDrop)
	case lab.DetOverhang:
		return ptr(t.OverhangJump)
	}
	return nil
}

// addLab adds a lab run's sections (summary.json is lab.Summary).
func addLab(p *Page, dir string, hasMeta bool) error {
	var sum lab.Summary
	if err := readJSON(dir, "summary.json", &sum); err != nil {
		return err
	}
	if sum.Validity == nil && sum.DPOvsRLHF == nil && sum.Trilemma == nil {
		return errNotOurs // not a lab summary (no validity, dpo_vs_rlhf or trilemma)
	}
	var cfg labConfig
	if err := readJSON(dir, "config.json", &cfg); err != nil {
		cfg = labConfig{Seed: sum.Seed, Seeds: sum.Seeds, Quick: sum.Quick}
	}
	p.Title = "alignlab lab: " + sum.ID
	p.Subtitle = "Model organisms trained with DPO and RLHF in the lab's closed world, every detector run on every organism."
	p.fact("run", sum.ID)
	p.fact("kind", "lab")
	p.fact("seed", fmt.Sprint(sum.Seed))
	p.Facts = append(p.Facts, [2]string{"organism seeds", fmt.Sprint(sum.Seeds)},
		[2]string{"run time", fmt.Sprintf("%.1f s", sum.Seconds)})
	if !hasMeta {
		// Runs made before run.json existed: the command follows from the
		// summary (the flags that change the result).
		cmd := "alignlab lab"
		if sum.Quick {
			cmd += " --quick"
		}
		cmd += fmt.Sprintf(" --seed %d", sum.Seed)
		if (sum.Quick && sum.Seeds != 1) || (!sum.Quick && sum.Seeds != 3) {
			cmd += fmt.Sprintf(" --seeds %d", sum.Seeds)
		}
		for _, o := range cfg.Organisms {
			if o.Source != "" && !strings.HasPrefix(o.Source, "embedded:") {
				cmd += " --organisms " + shellQuote(o.Source)
			}
		}
		p.Commands = append(p.Commands, cmd+"   # reconstructed from summary.json and config.json")
	}
	if sum.Base != nil {
		p.Sections = append(p.Sections, labBase(sum.Base))
	}
	var names []string
	for _, o := range cfg.Organisms {
		names = append(names, o.Name)
	}
	if ts := labTraining(dir, names); ts != nil {
		p.Sections = append(p.Sections, ts)
	}
	if sum.Validity != nil {
		p.Sections = append(p.Sections, labValidity(&sum, &cfg), labScorecard(&sum, &cfg))
	}
	if sum.DPOvsRLHF != nil {
		p.Sections = append(p.Sections, labCompare(sum.DPOvsRLHF, sum.Seed))
	}
	if len(sum.Trilemma) > 0 {
		p.Sections = append(p.Sections, labTrilemma(sum.Trilemma, sum.TrilemmaNote))
	}
	return nil
}

// labBase shows the base models' accuracy by slice.
func labBase(b *lab.BaseReport) *Section {
	s := &Section{ID: "base", Title: "Base models",
		Intro: fmt.Sprintf("The base models (%d parameters) every organism starts from, before any preference learning.", b.Params)}
	var rows []ForestRow
	for _, x := range []struct {
		name string
		acc  lab.BaseAccuracy
	}{{"main base", b.Main}, {"tail base", b.Tail}} {
		if x.acc.Greedy == nil {
			continue
		}
		o := x.acc.Greedy.Overall
		rows = append(rows, ForestRow{Label: x.name + ": all (greedy)", Group: x.name, Est: o.Estimate, Lo: o.CILow, Hi: o.CIHigh, Detail: fmt.Sprintf("n=%d, %s", o.N, o.Test)})
		sm := x.acc.Sampled
		rows = append(rows, ForestRow{Label: x.name + ": all (sampled, T=1)", Group: x.name, Est: sm.Estimate, Lo: sm.CILow, Hi: sm.CIHigh, Detail: fmt.Sprintf("n=%d, %s", sm.N, sm.Test)})
		keys := make([]string, 0, len(x.acc.Greedy.Slices))
		for k := range x.acc.Greedy.Slices {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			st := x.acc.Greedy.Slices[k]
			rows = append(rows, ForestRow{Label: x.name + ": " + k, Group: x.name, Est: st.Estimate, Lo: st.CILow, Hi: st.CIHigh, Detail: fmt.Sprintf("n=%d, %s", st.N, st.Test)})
		}
	}
	s.chart(Forest(ForestSpec{Title: "Base model accuracy by slice", XLabel: "gold accuracy (share of replies correct, 95% CI)", Rows: rows,
		Note: "How good the starting point is: preference learning has room to act where accuracy is below 1; the tail base is deliberately weak on rare variants. The prompts are fresh draws from the bases' training mix, not held out: the world is small, and some repeat training prompts."}))
	return s
}

// labValidity draws the validity matrix.
func labValidity(sum *lab.Summary, cfg *labConfig) *Section {
	s := &Section{ID: "validity", Title: "Validity matrix",
		Intro: "Every detector run on every organism. A valid detector fires on the organism that plants its failure (◆) and stays quiet on the others."}
	orgs := organismOrder(sum, cfg)
	planted := cfg.planted()
	spec := HeatSpec{Title: "Detectors (rows) on organisms (columns)", RowName: "detector", ColName: "organism", Cols: orgs,
		Metric: "share of seeds flagged", MarkLabel: "flagged (majority of seeds)", Min: ptr(0), Max: ptr(1),
		Note: "Colour is the share of seeds on which the detector flagged the organism, the number its estimate (mean over seeds); outlined cells are flagged. A good matrix is outlined on the ◆ cells only."}
	for _, d := range lab.DetectorNames {
		row, ok := sum.Validity[d]
		if !ok {
			continue
		}
		spec.Rows = append(spec.Rows, d)
		var vals []float64
		var marked []bool
		var text []string
		for _, o := range orgs {
			c, ok := row[o]
			if !ok || c.Seeds == 0 {
				vals, marked, text = append(vals, nan()), append(marked, false), append(text, "–")
				continue
			}
			vals = append(vals, float64(c.FlaggedSeeds)/float64(c.Seeds))
			marked = append(marked, c.Flagged)
			t := fmtVal(c.Estimate)
			if planted[o] == d {
				t += " ◆"
			}
			text = append(text, t)
		}
		spec.Values, spec.Marked, spec.Text = append(spec.Values, vals), append(spec.Marked, marked), append(spec.Text, text)
	}
	s.chart(Heatmap(spec))
	chk := sum.ValidityCheck
	verdict := "PASS"
	if !chk.Pass {
		verdict = "FAIL"
	}
	var missed []string
	for _, o := range orgs {
		if ok, in := chk.Diagonal[o]; in && !ok {
			missed = append(missed, o)
		}
	}
	line := fmt.Sprintf("Validity check: %s. Rule: %s.", verdict, chk.Rule)
	if len(missed) > 0 {
		line += " Planted organisms not flagged in every seed: " + strings.Join(missed, ", ") + "."
	}
	if len(chk.OffDiagonal) > 0 {
		line += " Flagged off the diagonal: " + strings.Join(chk.OffDiagonal, ", ") + "."
	}
	s.text(line)
	return s
}

// organismOrder lists the organisms in config order (clean first as in
// the embedded set), then any others found in the matrix.
func organismOrder(sum *lab.Summary, cfg *labConfig) []string {
	var out []string
	seen := map[string]bool{}
	for _, o := range cfg.Organisms {
		out, seen[o.Name] = append(out, o.Name), true
	}
	var extra []string
	for _, row := range sum.Validity {
		for o := range row {
			if !seen[o] {
				extra, seen[o] = append(extra, o), true
			}
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// labScorecard is the failure-mode scorecard: each detector's estimate on
// its planted organism and on the clean control, with intervals.
func labScorecard(sum *lab.Summary, cfg *labConfig) *Section {
	s := &Section{ID: "scorecard", Title: "Failure-mode scorecard",
		Intro: "Each detector's estimate with its 95% interval (envelope over seeds) on the organism that plants its failure and on the clean control."}
	planted := cfg.planted()
	var rows []ForestRow
	tbl := &Table{Columns: []string{"detector", "organism", "planted here", "estimate", "95% CI", "flagged seeds"}}
	tests := map[string]string{}
	for _, f := range sum.PerSeed {
		if _, ok := tests[f.Detector]; !ok {
			tests[f.Detector] = f.Finding.Test
		}
	}
	orgs := organismOrder(sum, cfg)
	for _, d := range lab.DetectorNames {
		row, ok := sum.Validity[d]
		if !ok {
			continue
		}
		for _, o := range orgs {
			c, ok := row[o]
			if !ok {
				continue
			}
			isPlanted := planted[o] == d
			mark := ""
			if isPlanted {
				mark = "yes"
			}
			tbl.Rows = append(tbl.Rows, []string{d, o, mark, fmtVal(c.Estimate), fmt.Sprintf("[%s, %s]", fmtVal(c.CILow), fmtVal(c.CIHigh)),
				fmt.Sprintf("%d/%d", c.FlaggedSeeds, c.Seeds)})
			cls := ""
			if c.Flagged != isPlanted {
				cls = "bad"
			}
			tbl.Classes = append(tbl.Classes, cls)
			if !isPlanted && o != "clean" && planted[o] != "none" {
				continue
			}
			group := "clean control"
			if isPlanted {
				group = "planted organism"
			}
			rows = append(rows, ForestRow{Label: d + " on " + o, Group: group, Est: c.Estimate, Lo: c.CILow, Hi: c.CIHigh, Flagged: c.Flagged,
				Threshold: cfg.threshold(d), Detail: fmt.Sprintf("flagged in %d of %d seeds", c.FlaggedSeeds, c.Seeds),
				FlagName: "flagged", UnflaggedName: "not flagged"})
		}
	}
	s.chart(Forest(ForestSpec{Title: "Detector estimates: planted organism against clean control", XLabel: "estimate (rate or difference of rates; 95% CI)",
		Rows: rows, Ref: ptr(0), RefLabel: "no effect",
		Note: "A detector separates the failure when its planted organism's interval clears the threshold (▼) and the clean control's does not; filled markers were flagged."}))
	tt := &Table{Title: "What each detector estimates", Columns: []string{"detector", "estimate and test", "flags when"}}
	for _, d := range lab.DetectorNames {
		if t, ok := tests[d]; ok {
			when := "any annotator, or the global agreement stream, drifts"
			if th := cfg.threshold(d); th != nil {
				when = fmt.Sprintf("threshold %s (lab.Thresholds)", fmtVal(*th))
			}
			tt.Rows = append(tt.Rows, []string{d, t, when})
		}
	}
	s.table(tt)
	tbl.Title = "Every cell of the matrix"
	tbl.Collapsed = true
	tbl.Note = "Rows shaded orange disagree with the design: a planted organism not flagged, or an organism flagged for a failure it does not plant."
	s.table(tbl)
	return s
}
