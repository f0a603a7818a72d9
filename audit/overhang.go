package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// overhang follows items across an ordered series of checkpoints. The
// discrete metric is greedy correctness; the continuous one is the answer's
// log-probability where the target offers it, else the pass rate over
// several samples. A capability that appears abruptly in the discrete
// metric may have been building up in the continuous one: the probe finds
// the largest discrete jump (the change point) and how many checkpoints
// earlier the continuous metric had already risen significantly.
type overhang struct{}

func init() { register(overhang{}) }

func (overhang) Name() string { return "overhang" }
func (overhang) Estimand() string {
	return "largest jump in greedy accuracy between consecutive checkpoints (paired by item)"
}

const (
	metricLogProb  = "logprob"
	metricPassRate = "passrate"
)

// overhangMetric decides the continuous metric: log-probs when every
// checkpoint offers them (checked with one request on the first), else
// pass rates.
func overhangMetric(ctx context.Context, o *Options) (string, error) {
	switch o.OverhangMetric {
	case metricLogProb, metricPassRate:
		return o.OverhangMetric, nil
	case "", "auto":
	default:
		return "", fmt.Errorf("overhang metric %q (want auto, logprob or passrate)", o.OverhangMetric)
	}
	s := o.Dataset.Samples[0]
	var st State
	st.Sample, st.Messages, st.Extra = s, s.Input, map[string]float64{}
	if err := LogProb()(ctx, &Env{Target: o.Series[0]}, &st); err != nil {
		return metricPassRate, nil
	}
	return metricLogProb, nil
}

func (p overhang) Tasks(ctx context.Context, o *Options) ([]Task, error) {
	if len(o.Series) < 2 {
		return nil, errors.New("overhang needs an ordered series of at least 2 checkpoints (--series)")
	}
	metric, err := overhangMetric(ctx, o)
	if err != nil {
		return nil, err
	}
	k := o.OverhangSamples
	if k <= 0 {
		k = 8
	}
	cont := SampleK(k, 1.0)
	if metric == metricLogProb {
		cont = LogProbAnswer(o.Templates.Answer)
	}
	zero := 0.0
	var tasks []Task
	for c, tg := range o.Series {
		for _, s := range o.Dataset.Samples {
			sc, err := o.scorerFor(s)
			if err != nil {
				return nil, err
			}
			base := fmt.Sprintf("overhang/c%03d/%s/", c, s.ID)
			meta := []string{"checkpoint", strconv.Itoa(c), "checkpoint_name", tg.Name(), "metric", metric}
			tasks = append(tasks,
				Task{ID: base + "greedy", Probe: p.Name(), Sample: s.WithMeta(append(meta, "variant", "greedy")...),
					Solver: Generate(), Scorer: sc, Target: tg, Temperature: &zero},
				Task{ID: base + "cont", Probe: p.Name(), Sample: s.WithMeta(append(meta, "variant", "cont")...),
					Solver: cont, Scorer: sc, Target: tg})
		}
	}
	return tasks, nil
}

// checkpointStats is one checkpoint's row in the report.
type checkpointStats struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	Discrete   Stat   `json:"discrete_accuracy"`
	Continuous Stat   `json:"continuous"`
}

func (p overhang) Analyze(results []Result, o *Options) (*Report, error) {
	type cp struct {
		name     string
		greedy   map[string]bool
		cont     map[string]float64
		contKind string
	}
	var cps []*cp
	for _, r := range results {
		c, err := strconv.Atoi(r.Meta["checkpoint"])
		if err != nil || c < 0 || c > 100000 {
			continue
		}
		for len(cps) <= c {
			cps = append(cps, &cp{greedy: map[string]bool{}, cont: map[string]float64{}})
		}
		x := cps[c]
		x.name = r.Meta["checkpoint_name"]
		switch r.Meta["variant"] {
		case "greedy":
			x.greedy[r.SampleID] = r.Correct(0)
		case "cont":
			if v, ok := r.Extra["logprob"]; ok {
				x.cont[r.SampleID], x.contKind = v, metricLogProb
			} else {
				x.cont[r.SampleID], x.contKind = r.PassRate(), metricPassRate
			}
		}
	}
	if len(cps) < 2 {
		return nil, errors.New("overhang needs results from at least 2 checkpoints")
	}
	rows := make([]checkpointStats, len(cps))
	for c, x := range cps {
		k := 0
		for _, ok := range x.greedy {
			if ok {
				k++
			}
		}
		var vals []float64
		for _, id := range sortedKeys(x.cont) {
			vals = append(vals, x.cont[id])
		}
		rows[c] = checkpointStats{Index: c, Name: x.name, Discrete: Wilson(k, len(x.greedy)), Continuous: MeanCI(vals, uint64(o.Seed)+uint64(c))}
	}
	// Discrete jumps between consecutive checkpoints, paired by item.
	var jumps []Stat
	best := -1
	var changePoints []int
	for c := 1; c < len(cps); c++ {
		var pr Pairs
		for id, now := range cps[c].greedy {
			if before, ok := cps[c-1].greedy[id]; ok {
				pr.Add(now, before)
			}
		}
		j := PairedDiff(pr)
		jumps = append(jumps, j)
		if best < 0 || j.Estimate > jumps[best].Estimate {
			best = c - 1
		}
		if *j.PValue < 0.05/float64(len(cps)-1) && j.Estimate > 0 {
			changePoints = append(changePoints, c)
		}
	}
	jump := jumps[best]
	jump.Test = "greedy accuracy jump between consecutive checkpoints; " + jump.Test
	rep := &Report{Stat: jump, Metrics: map[string]Stat{}, Details: map[string]any{}}
	change := best + 1
	rep.Details["checkpoints"] = rows
	rep.Details["jumps"] = jumps
	rep.Details["change_point"] = change
	rep.Details["significant_change_points"] = changePoints
	rep.Details["continuous_metric"] = cps[0].contKind
	// Early warning: the first checkpoint whose continuous metric is
	// significantly above the first checkpoint's (paired bootstrap).
	warned := -1
	for w := 1; w < len(cps); w++ {
		var diffs []float64
		for _, id := range sortedKeys(cps[w].cont) {
			v := cps[w].cont[id]
			if v0, ok := cps[0].cont[id]; ok {
				diffs = append(diffs, v-v0)
			}
		}
		d := MeanCI(diffs, uint64(o.Seed)^uint64(w)<<8)
		if d.N > 0 && d.CILow > 0 {
			warned = w
			rep.Metrics["continuous_rise_at_warning"] = d
			break
		}
	}
	rep.Details["warned_at"] = warned
	lead := 0
	if warned >= 0 && warned < change {
		lead = change - warned
	}
	rep.Details["lead_checkpoints"] = lead
	if warned >= 0 {
		rep.Details["explanation"] = fmt.Sprintf("largest greedy jump into checkpoint %d; continuous metric (%s) first rose significantly at checkpoint %d, %d checkpoint(s) earlier",
			change, cps[0].contKind, warned, lead)
	} else {
		rep.Details["explanation"] = fmt.Sprintf("largest greedy jump into checkpoint %d; continuous metric (%s) never rose significantly, so no early warning",
			change, cps[0].contKind)
	}
	return rep, nil
}
