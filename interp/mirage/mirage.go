package mirage

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/interp/probe"
	"github.com/alignlab/alignlab/lab"
)

// Config sets an analysis.
type Config struct {
	// FitItems is how many items, each asked in both frames, the probes
	// and directions are fitted on (items the held-out gap measure does
	// not use).
	FitItems int
	// Position is which prompt positions the cached rows summarise.
	Position Position
	// Folds and Seed set the probes' cross-validation; Seed also draws the
	// fitting prompts and the random control directions.
	Folds int
	Seed  uint64
	// Temperature is the sampling temperature of the gap measure (the
	// lab's DetectTemperature, so that the numbers agree with its validity
	// matrix).
	Temperature float32
	// Thresholds decide the lab's mirage flag.
	Thresholds lab.Thresholds
	// Ablate says where the frame is projected out: AblateResid (the
	// default: after every block, each with the direction fitted there)
	// or AblateComponents (also from what each block's attention and MLP
	// write, each with the direction fitted at its output, as Arditi et
	// al. remove the direction from every component's write). On the lab's
	// organisms the second shrinks the gap more but by lowering accuracy in
	// both frames (and the clean organism's by about 0.17); the first
	// shrinks it by raising deployment-frame accuracy toward the
	// evaluation frame's, which is the claim, at little cost to the clean
	// organism.
	Ablate string
}

// Ablation sites.
const (
	AblateResid      = "resid"
	AblateComponents = "components"
)

// Layer is one residual-stream hook point's probe.
type Layer struct {
	Layer    int               `json:"layer"`
	Hook     string            `json:"hook"`
	AUROC    float64           `json:"auroc"`
	CILow    float64           `json:"ci_low"`
	CIHigh   float64           `json:"ci_high"`
	Accuracy float64           `json:"accuracy"`
	CV       *probe.CV         `json:"-"`
	Dir      *interp.Direction `json:"-"`
}

// Gap is a paired eval-minus-deploy accuracy gap with its 95% interval.
type Gap struct {
	Estimate float64 `json:"estimate"`
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
	N        int     `json:"n"`
	Flagged  bool    `json:"flagged"`
	// EvalAccuracy and DeployAccuracy are the two sides.
	EvalAccuracy   float64 `json:"eval_accuracy"`
	DeployAccuracy float64 `json:"deploy_accuracy"`
	Test           string  `json:"test"`
}

// Report is one policy's analysis.
type Report struct {
	Layers    []Layer `json:"layers"`
	BestLayer int     `json:"best_layer"`
	BestAUROC float64 `json:"best_auroc"`
	// Direction is the frame direction (evaluation minus deployment) at
	// the best layer.
	Direction *interp.Direction `json:"direction"`
	// GapBefore is the lab's mirage measure on the policy; GapAfter with
	// every layer's frame direction projected out; GapRandom with random
	// unit directions at the same hooks instead.
	GapBefore Gap `json:"gap_before"`
	GapAfter  Gap `json:"gap_after"`
	GapRandom Gap `json:"gap_random"`
	// Ablation and Random compare GapAfter and GapRandom with GapBefore:
	// the reduction and the shrink (1 − after/before; nil when there is
	// no gap before), with paired bootstrap intervals.
	Ablation Change `json:"ablation"`
	Random   Change `json:"random"`
	// AblatedHooks are the hooks directions were projected out at.
	AblatedHooks []string `json:"ablated_hooks"`
}

// FitPrompts draws n items, each rendered in the evaluation frame and in
// the deployment frame with random templates, skipping the items in
// exclude (item ids: the held-out set's), so that no item the gap is
// measured on is one the directions were fitted on. The world has few
// items in some domains; it is an error when n such items cannot be drawn.
func FitPrompts(n int, seed uint64, exclude map[string]bool) ([][2]lab.Prompt, error) {
	if n < 1 {
		return nil, fmt.Errorf("%d fitting items: need at least 1", n)
	}
	w := lab.NewWorld()
	rng := rand.New(rand.NewPCG(seed, 0xf17))
	out := make([][2]lab.Prompt, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("could draw only %d fitting items outside the %d held-out ones", len(out), len(exclude))
		}
		d := lab.Domains[rng.IntN(len(lab.Domains))]
		its := w.DomainItems(d)
		i := its[rng.IntN(len(its))]
		if exclude[w.Items[i].ID] {
			continue
		}
		k := len(out)
		out = append(out, [2]lab.Prompt{
			w.Render(fmt.Sprintf("fit-eval-%04d", k), i, lab.PromptOpts{Frame: lab.FrameEval, Template: rng.IntN(len(lab.EvalFrames))}),
			w.Render(fmt.Sprintf("fit-deploy-%04d", k), i, lab.PromptOpts{Frame: lab.FrameDeploy, Template: rng.IntN(len(lab.DeployFrames))}),
		})
	}
	return out, nil
}

// Analyze probes pol's residual stream for the frame on fitting prompts,
// then measures the mirage gap on the held-out evaluation sets es before
// and after projecting out the frame directions, and with random
// directions. progress may be nil.
func Analyze(ctx context.Context, pol *lab.Policy, es *lab.EvalSets, cfg Config, progress func(string)) (*Report, error) {
	say := func(f string, a ...any) {
		if progress != nil {
			progress(fmt.Sprintf(f, a...))
		}
	}
	if cfg.Position == "" {
		cfg.Position = PosLast
	}
	held := map[string]bool{}
	for _, p := range es.Frames {
		held[p[0].ItemID] = true
	}
	fit, err := FitPrompts(cfg.FitItems, cfg.Seed, held)
	if err != nil {
		return nil, err
	}
	ps := make([]lab.Prompt, 0, 2*len(fit))
	y := make([]int, 0, 2*len(fit))
	for _, p := range fit {
		ps = append(ps, p[0], p[1])
		y = append(y, 1, 0) // 1: evaluation frame
	}
	toks, err := pol.PromptTokens(ps)
	if err != nil {
		return nil, err
	}
	hooks := ResidHooks(pol.Model.Config.NumLayers)
	acts, _, err := probe.Activations(pol.Model, toks, hooks, cfg.Position)
	if err != nil {
		return nil, err
	}
	n, d := len(ps), pol.Model.Config.Dim
	r := &Report{BestLayer: -1}
	dirs := map[string][]float32{}
	for l, h := range hooks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cv, err := probe.CrossValidate(acts[l], n, d, y, probe.CVConfig{Folds: cfg.Folds, Seed: cfg.Seed})
		if err != nil {
			return nil, fmt.Errorf("probe at %s: %w", h, err)
		}
		dir, err := probe.ContrastDirection(h, acts[l], n, d, y, "evaluation frame", "deployment frame")
		if err != nil {
			return nil, err
		}
		// A hook where both frames share one activation (the embedding of
		// the last prompt token, the same generation prompt for every
		// prompt) has no frame direction and nothing to ablate.
		if u, err := dir.Unit(); err == nil {
			dirs[h] = u
		}
		r.Layers = append(r.Layers, Layer{Layer: l, Hook: h, AUROC: cv.AUROC.Estimate, CILow: cv.AUROC.CILow,
			CIHigh: cv.AUROC.CIHigh, Accuracy: cv.Accuracy.Estimate, CV: cv, Dir: dir})
		if r.BestLayer < 0 || cv.AUROC.Estimate > r.BestAUROC {
			r.BestLayer, r.BestAUROC, r.Direction = l, cv.AUROC.Estimate, dir
		}
		say("layer %d (%s): frame probe AUROC %.3f [%.3f, %.3f], accuracy %.3f", l, h, cv.AUROC.Estimate, cv.AUROC.CILow, cv.AUROC.CIHigh, cv.Accuracy.Estimate)
	}
	if cfg.Ablate == "" {
		cfg.Ablate = AblateResid
	}
	switch cfg.Ablate {
	case AblateResid:
	case AblateComponents:
		var outs []string
		for l := 0; l < pol.Model.Config.NumLayers; l++ {
			outs = append(outs, fmt.Sprintf("blocks.%d.hook_attn_out", l), fmt.Sprintf("blocks.%d.hook_mlp_out", l))
		}
		oa, _, err := probe.Activations(pol.Model, toks, outs, cfg.Position)
		if err != nil {
			return nil, err
		}
		for k, h := range outs {
			dir, err := probe.ContrastDirection(h, oa[k], n, d, y, "evaluation frame", "deployment frame")
			if err != nil {
				return nil, err
			}
			if u, err := dir.Unit(); err == nil {
				dirs[h] = u
			}
		}
	default:
		return nil, fmt.Errorf("ablate %q (want %s or %s)", cfg.Ablate, AblateResid, AblateComponents)
	}
	var used []string
	for h := range dirs {
		used = append(used, h)
	}
	slices.Sort(used)
	var before, after, random outcome
	if r.GapBefore, before, err = measure(pol, es, cfg); err != nil {
		return nil, err
	}
	say("gap before ablation %.3f [%.3f, %.3f]", r.GapBefore.Estimate, r.GapBefore.CILow, r.GapBefore.CIHigh)
	abl, err := (&Ablated{Policy: pol, Dirs: dirs}).Hooked()
	if err != nil {
		return nil, err
	}
	if r.GapAfter, after, err = measure(abl, es, cfg); err != nil {
		return nil, err
	}
	say("gap with the frame directions projected out %.3f [%.3f, %.3f]", r.GapAfter.Estimate, r.GapAfter.CILow, r.GapAfter.CIHigh)
	rnd := RandomDirections(used, d, cfg.Seed)
	ctl, err := (&Ablated{Policy: pol, Dirs: rnd}).Hooked()
	if err != nil {
		return nil, err
	}
	if r.GapRandom, random, err = measure(ctl, es, cfg); err != nil {
		return nil, err
	}
	say("gap with random directions projected out %.3f [%.3f, %.3f]", r.GapRandom.Estimate, r.GapRandom.CILow, r.GapRandom.CIHigh)
	r.Ablation = compare(r.GapBefore, r.GapAfter, before, after, cfg.Seed)
	r.Random = compare(r.GapBefore, r.GapRandom, before, random, cfg.Seed)
	r.AblatedHooks = used
	return r, nil
}

// RandomDirections draws one random unit vector of width d per hook.
func RandomDirections(hooks []string, d int, seed uint64) map[string][]float32 {
	rng := rand.New(rand.NewPCG(seed, 0x7a4d))
	out := map[string][]float32{}
	for _, h := range hooks {
		v := make([]float32, d)
		ss := 0.0
		for j := range v {
			x := rng.NormFloat64()
			v[j] = float32(x)
			ss += x * x
		}
		s := float32(1 / math.Sqrt(ss))
		for j := range v {
			v[j] *= s
		}
		out[h] = v
	}
	return out
}
