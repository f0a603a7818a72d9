package audit

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
)

// rareEvent asks each item in its common form and under each CheckList
// perturbation (invariance: the answer must not change), plus a
// directional variant where the bank knows how the answer must move.
// Rare-entity items (metadata rare=true) form their own slice.
type rareEvent struct{}

func init() { register(rareEvent{}) }

func (rareEvent) Name() string { return "rare-event" }
func (rareEvent) Estimand() string {
	return "accuracy on common inputs minus accuracy on perturbed and rare ones (item-clustered)"
}

const (
	sliceCommon      = "common"
	sliceRareEntity  = "rare_entity"
	sliceDirectional = "directional"
	sliceRareVariant = "rare_variant"
)

func (p rareEvent) Tasks(_ context.Context, o *Options) ([]Task, error) {
	var tasks []Task
	for _, s := range o.Dataset.Samples {
		sc, err := o.scorerFor(s)
		if err != nil {
			return nil, err
		}
		rng := rand.New(rand.NewPCG(uint64(taskSeed(o.Seed, s.ID)), 0x7a11))
		base := sliceCommon
		if s.Metadata["rare"] == "true" {
			base = sliceRareEntity
		}
		add := func(variant, slice string, smp Sample) {
			smp = smp.WithMeta("variant", variant, "slice", slice)
			tasks = append(tasks, Task{ID: "rare-event/" + s.ID + "/" + variant, Probe: p.Name(), Sample: smp, Solver: Generate(), Scorer: sc,
				SeedKey: o.pairKey(p.Name(), s.ID)})
		}
		add("common", base, s)
		if rq, rt := s.Metadata["rare_question"], s.Metadata["rare_target"]; rq != "" && rt != "" {
			// The same item asked in a form training rarely shows, with its
			// own answer (and wrong answer, when given).
			r := s.WithQuestion(rq)
			r.Target, r.Aliases, r.Wrong = rt, nil, s.Metadata["rare_wrong"]
			add(sliceRareVariant, sliceRareVariant, r)
		}
		if o.NoPerturbations {
			continue
		}
		for _, pt := range Perturbations {
			if q, ok := pt.Apply(s.Question(), rng); ok && q != s.Question() {
				add(pt.Name, pt.Name, s.WithQuestion(q))
			}
		}
		if dq, dt := s.Metadata["dir_question"], s.Metadata["dir_target"]; dq != "" && dt != "" {
			d := s.WithQuestion(dq)
			d.Target, d.Aliases, d.Wrong = dt, nil, ""
			add(sliceDirectional, sliceDirectional, d)
		}
	}
	return tasks, nil
}

// rareItem is one item's outcomes: its head (common, non-rare form) and
// tail (everything else) counts.
type rareItem struct{ headK, headN, tailK, tailN int }

func (p rareEvent) Analyze(results []Result, o *Options) (*Report, error) {
	items := byItem(results)
	slices := map[string][2]int{} // slice -> (correct, n)
	var clusters []rareItem
	invFail, invN := 0, 0
	var variantPairs Pairs // (common correct, rare variant correct)
	for _, id := range sortedKeys(items) {
		v := items[id]
		var it rareItem
		common, hasCommon := v["common"]
		if rv, ok := v[sliceRareVariant]; ok && hasCommon && common.Meta["slice"] == sliceCommon {
			variantPairs.Add(common.Correct(0), rv.Correct(0))
		}
		for _, variant := range sortedKeys(v) {
			r := v[variant]
			slice := r.Meta["slice"]
			c := slices[slice]
			c[1]++
			ok := r.Correct(0)
			if ok {
				c[0]++
			}
			slices[slice] = c
			if slice == sliceCommon {
				it.headN++
				if ok {
					it.headK++
				}
				continue
			}
			it.tailN++
			if ok {
				it.tailK++
			}
			// Invariance: a perturbed answer should equal the common one.
			if hasCommon && slice != sliceDirectional && slice != sliceRareEntity && slice != sliceRareVariant && len(r.Scores) > 0 && len(common.Scores) > 0 {
				invN++
				if Normalize(r.Scores[0].Answer) != Normalize(common.Scores[0].Answer) {
					invFail++
				}
			}
		}
		clusters = append(clusters, it)
	}
	if len(clusters) == 0 {
		return nil, errors.New("no completed rare-event samples")
	}
	gap := func(idx []int) float64 {
		var hk, hn, tk, tn int
		for _, i := range idx {
			c := clusters[i]
			hk, hn, tk, tn = hk+c.headK, hn+c.headN, tk+c.tailK, tn+c.tailN
		}
		if hn == 0 || tn == 0 {
			return math.NaN()
		}
		return float64(hk)/float64(hn) - float64(tk)/float64(tn)
	}
	all := make([]int, len(clusters))
	for i := range all {
		all[i] = i
	}
	est := gap(all)
	if math.IsNaN(est) {
		return nil, errors.New("rare-event needs both common and perturbed/rare samples")
	}
	lo, hi := Bootstrap(len(clusters), 2000, uint64(o.Seed)^0x4a4e, gap)
	n := 0
	for _, c := range slices {
		n += c[1]
	}
	rep := &Report{Stat: Stat{Estimate: est, CILow: lo, CIHigh: hi, N: n,
		Test: "head-minus-tail accuracy gap, item-clustered percentile bootstrap 95% CI (2000 resamples)"},
		Metrics: map[string]Stat{}, Details: map[string]any{}}
	per := map[string]Stat{}
	type sl struct {
		name string
		s    Stat
	}
	var tails []sl
	for _, name := range sortedKeys(slices) {
		c := slices[name]
		per[name] = Wilson(c[0], c[1])
		if name != sliceCommon {
			tails = append(tails, sl{name, per[name]})
		}
	}
	rep.Details["slices"] = per
	if len(tails) > 0 {
		sort.SliceStable(tails, func(i, j int) bool { return tails[i].s.Estimate < tails[j].s.Estimate })
		worst := tails[0]
		rep.Details["worst_slice"] = worst.name
		rep.Metrics["worst_slice_accuracy"] = worst.s
		h := slices[sliceCommon]
		w := slices[worst.name]
		rep.Metrics["worst_slice_gap"] = UnpairedDiff(h[0], h[1], w[0], w[1])
	}
	if invN > 0 {
		rep.Metrics["invariance_failure_rate"] = Wilson(invFail, invN)
	}
	if d, ok := slices[sliceDirectional]; ok {
		rep.Metrics["directional_failure_rate"] = Wilson(d[1]-d[0], d[1])
	}
	if variantPairs.N() > 0 {
		d := PairedDiff(variantPairs)
		d.Test = "accuracy on common forms minus their rare variants, same items; " + d.Test
		rep.Metrics["rare_variant_gap"] = d
	}
	if r, ok := slices[sliceRareEntity]; ok {
		h := slices[sliceCommon]
		rep.Metrics["rare_entity_gap"] = UnpairedDiff(h[0], h[1], r[0], r[1])
	}
	return rep, nil
}
