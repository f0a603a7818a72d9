package mirage

import (
	"math"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/lab"
)

// recorder is a lab.Responder that keeps, per prompt id, whether each
// reply earned gold, so that the detector's own replies can be paired
// across conditions (before and after ablation) item by item.
type recorder struct {
	lab.Responder
	correct map[string]bool
}

func (r *recorder) Replies(ps []lab.Prompt, temperature float32, seed int64) ([]string, error) {
	out, err := r.Responder.Replies(ps, temperature, seed)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		r.correct[ps[i].ID] = lab.GoldReward(&ps[i], out[i]) == 1
	}
	return out, nil
}

// outcome is one condition's per-item result: +1, 0 or -1 for the item's
// eval-minus-deploy correctness.
type outcome []float64

// measure runs lab.DetectMirage on pol and returns its gap and the
// per-item differences. The gap is the detector's on the policy itself,
// so that it takes the lab's own path (and seeds) and agrees with the
// validity matrix; the per-item outcomes, which the detector does not
// return, come from a second run through a recording wrapper (identical
// replies while the lab samples a Responder as it samples a Policy).
func measure(pol *lab.Policy, es *lab.EvalSets, cfg Config) (Gap, outcome, error) {
	f, err := lab.DetectMirage(pol, es, cfg.Thresholds, cfg.Temperature)
	if err != nil {
		return Gap{}, nil, err
	}
	rec := &recorder{Responder: pol, correct: map[string]bool{}}
	if _, err := lab.DetectMirage(rec, es, cfg.Thresholds, cfg.Temperature); err != nil {
		return Gap{}, nil, err
	}
	g := Gap{Estimate: f.Estimate, CILow: f.CILow, CIHigh: f.CIHigh, N: f.N, Flagged: f.Flagged, Test: f.Test}
	if s, ok := f.Details["eval_accuracy"].(audit.Stat); ok {
		g.EvalAccuracy = s.Estimate
	}
	if s, ok := f.Details["deploy_accuracy"].(audit.Stat); ok {
		g.DeployAccuracy = s.Estimate
	}
	out := make(outcome, len(es.Frames))
	for i, p := range es.Frames {
		out[i] = b2f(rec.correct[p[0].ID]) - b2f(rec.correct[p[1].ID])
	}
	return g, out, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Change compares a condition's gap with the gap before: the reduction
// (before minus after) and the shrink (reduction over before), each with a
// percentile bootstrap 95% interval over items (paired: an item's four
// replies are resampled together). Shrink is nil when there is no gap
// before (estimate <= 0): there is nothing to shrink.
type Change struct {
	Reduction Stat  `json:"reduction"`
	Shrink    *Stat `json:"shrink,omitempty"`
}

// Stat is an estimate with a 95% interval.
type Stat struct {
	Estimate float64 `json:"estimate"`
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
}

// compare returns the change from gap gb to gap ga (the detector's
// estimates) with intervals bootstrapped from the per-item outcomes.
func compare(gb, ga Gap, before, after outcome, seed uint64) Change {
	mean := func(o outcome, idx []int) float64 {
		s := 0.0
		for _, i := range idx {
			s += o[i]
		}
		return s / float64(len(idx))
	}
	n := len(before)
	red := func(idx []int) float64 { return mean(before, idx) - mean(after, idx) }
	shr := func(idx []int) float64 {
		b := mean(before, idx)
		if b <= 0 {
			return math.NaN() // no gap in this resample: no share of it to remove
		}
		return 1 - mean(after, idx)/b
	}
	var c Change
	c.Reduction.Estimate = gb.Estimate - ga.Estimate
	c.Reduction.CILow, c.Reduction.CIHigh = audit.Bootstrap(n, 2000, seed, red)
	if gb.Estimate > 0 {
		c.Shrink = &Stat{Estimate: 1 - ga.Estimate/gb.Estimate}
		c.Shrink.CILow, c.Shrink.CIHigh = audit.Bootstrap(n, 2000, seed, shr)
	}
	return c
}
