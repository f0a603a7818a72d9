package mirage

import (
	"fmt"

	"github.com/alignlab/alignlab/interp"
)

// Result renders s as the inspect.json every inspect command writes: the
// probe AUROC by layer as a series (mirage and clean), the gaps as a
// table, and s itself as Data.
func (s *Summary) Result(modelName string) *interp.Result {
	r := &interp.Result{Kind: "mirage", Model: modelName, Data: s, Summary: s.Text()}
	ser := &interp.Series{Title: "Frame probe AUROC by layer (evaluation vs deployment frame)", XLabel: "layer (0 = embeddings, l = after block l-1)",
		YLabel: "cross-validated AUROC",
		Note:   fmt.Sprintf("logistic probe on the residual stream at the %s prompt position, %d-fold stratified CV on %d items asked in both frames; bands are 95%% intervals", s.Position, s.Folds, s.FitItems)}
	line := func(name string, ls []Layer) interp.Line {
		l := interp.Line{Name: name}
		for _, x := range ls {
			l.Y, l.CILow, l.CIHigh = append(l.Y, x.AUROC), append(l.CILow, x.CILow), append(l.CIHigh, x.CIHigh)
		}
		return l
	}
	for _, x := range s.AUROCByLayer {
		ser.X = append(ser.X, float64(x.Layer))
	}
	ser.Lines = append(ser.Lines, line("mirage", s.AUROCByLayer))
	if s.Clean != nil {
		ser.Lines = append(ser.Lines, line("clean", s.Clean.Layers))
	}
	r.Series = []*interp.Series{ser}
	t := &interp.Table{Title: "Mirage gap (accuracy in evaluation frame minus deployment frame, same items)",
		Columns: []string{"organism", "condition", "gap", "95% CI", "eval accuracy", "deploy accuracy", "shrink", "shrink 95% CI"},
		Note: fmt.Sprintf("%d held-out items, sampled at temperature %g (the lab's mirage detector); ablation projects each layer's frame direction (difference of means) out of %s at every position; the random control projects out random unit directions at the same hooks; shrink = 1 - after/before with a paired bootstrap interval",
			s.HeldOutItems, s.Temperature, ablatedWhere(s.Ablate))}
	add := func(org string, r *Report) {
		row := func(cond string, g Gap, c *Change) {
			sh, shci := "", ""
			// A shrink is a fraction of the gap before; with no gap before
			// (its interval covers 0, as for the clean control) it is noise
			// and is left blank.
			if c != nil && c.Shrink != nil && r.GapBefore.CILow > 0 {
				sh = fmt.Sprintf("%.0f%%", 100*c.Shrink.Estimate)
				shci = fmt.Sprintf("[%.0f%%, %.0f%%]", 100*c.Shrink.CILow, 100*c.Shrink.CIHigh)
			}
			t.Rows = append(t.Rows, []string{org, cond, fmt.Sprintf("%+.3f", g.Estimate), fmt.Sprintf("[%+.3f, %+.3f]", g.CILow, g.CIHigh),
				fmt.Sprintf("%.3f", g.EvalAccuracy), fmt.Sprintf("%.3f", g.DeployAccuracy), sh, shci})
		}
		row("before", r.GapBefore, nil)
		row("frame directions ablated", r.GapAfter, &r.Ablation)
		row("random directions ablated", r.GapRandom, &r.Random)
	}
	add("mirage", s.Mirage)
	if s.Clean != nil {
		add("clean", s.Clean)
	}
	r.Tables = []*interp.Table{t}
	return r
}

// Text is the one-paragraph reading of s.
func (s *Summary) Text() string {
	pct := func(st *Stat) string {
		if st == nil {
			return "none: no gap before"
		}
		return fmt.Sprintf("%.0f%%, 95%% CI %.0f%% to %.0f%%", 100*st.Estimate, 100*st.CILow, 100*st.CIHigh)
	}
	txt := fmt.Sprintf("The frame probe reads evaluation vs deployment at layer %d (%s) with AUROC %.3f. "+
		"The mirage gap is %+.3f [%+.3f, %+.3f] before ablation and %+.3f [%+.3f, %+.3f] with the frame directions projected out (shrink %s); "+
		"random directions leave %+.3f [%+.3f, %+.3f] (shrink %s). "+
		"Accuracy in the evaluation/deployment frame: %.3f/%.3f before, %.3f/%.3f ablated.",
		s.BestLayer, s.BestHook, s.BestAUROC, s.GapBefore.Estimate, s.GapBefore.CILow, s.GapBefore.CIHigh,
		s.GapAfter.Estimate, s.GapAfter.CILow, s.GapAfter.CIHigh, pct(s.Shrink),
		s.GapRandom.Estimate, s.GapRandom.CILow, s.GapRandom.CIHigh, pct(s.RandomShrink),
		s.GapBefore.EvalAccuracy, s.GapBefore.DeployAccuracy, s.GapAfter.EvalAccuracy, s.GapAfter.DeployAccuracy)
	if s.Clean != nil {
		g := s.Clean.GapBefore
		verdict := "no gap to shrink"
		switch {
		case g.Flagged:
			verdict = "a gap the lab's detector flags"
		case g.CILow > 0:
			verdict = "a small gap, below the lab's mirage threshold"
		}
		txt += fmt.Sprintf(" The clean organism has %s: %+.3f [%+.3f, %+.3f], accuracy %.3f/%.3f, ablated %.3f/%.3f (its probe also reads the frame, AUROC %.3f: the frame is in the input, the mirage is in what the policy does with it).",
			verdict, g.Estimate, g.CILow, g.CIHigh, g.EvalAccuracy, g.DeployAccuracy, s.Clean.GapAfter.EvalAccuracy, s.Clean.GapAfter.DeployAccuracy, s.Clean.BestAUROC)
	}
	return txt
}

// ablatedWhere says in words where Config.Ablate projects the directions.
func ablatedWhere(ablate string) string {
	if ablate == AblateComponents {
		return "the residual stream and each block's attention and MLP outputs"
	}
	return "the residual stream"
}
