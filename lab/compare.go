package lab

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/alignlab/alignlab/audit"
)

// DPO against RLHF on the same preference data (the clean organism's):
// gold reward against KL to the reference for several DPO betas and RLHF
// KL coefficients (the frontier), wall time, peak memory, the spread across
// seeds at the default settings, and a verdict on each claim made for DPO.

// MethodRun is one trained policy of the comparison.
type MethodRun struct {
	Method string `json:"method"` // dpo | rlhf
	// Algorithm is the trainer: dpo (train.DPOTrainer, sigmoid loss) or
	// ppo (train.PPOTrainer against the reward model).
	Algorithm string  `json:"algorithm"`
	Param     string  `json:"param"` // beta | kl_coef
	Value     float64 `json:"value"`
	Seed      uint64  `json:"seed"`
	// Gold is the mean gold reward of replies sampled at temperature 1
	// on held-out prompts of the training distribution.
	Gold audit.Stat `json:"gold"`
	// KL is the mean of log π(y) - log π_ref(y) over those replies.
	KL float64 `json:"kl"`
	// Greedy is greedy gold accuracy on the same prompts.
	Greedy      audit.Stat `json:"greedy"`
	Seconds     float64    `json:"seconds"`       // training wall time, reward model included
	CPUSeconds  float64    `json:"cpu_seconds"`   // training CPU time, reward model included
	RMSeconds   float64    `json:"rm_seconds"`    // of which the reward model
	PeakHeapMiB float64    `json:"peak_heap_mib"` // peak live heap above the start (largest stage)
	policy      *Policy
}

// Spread is the seed-to-seed spread of gold at a method's default setting.
type Spread struct {
	// Value is the default setting the spread is taken at (beta for DPO,
	// kl_coef for RLHF).
	Value float64 `json:"value"`
	N     int     `json:"n"`
	Mean  float64 `json:"mean"`
	SD    float64 `json:"sd"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
}

// Verdict is the lab's finding on one claim made for DPO.
type Verdict struct {
	Claim    string `json:"claim"`
	Verdict  string `json:"verdict"` // supported, not supported, mixed, not shown or not tested (with a reason)
	Evidence string `json:"evidence"`
}

// Comparison is the DPO-against-RLHF result.
type Comparison struct {
	Runs     []MethodRun       `json:"runs"`
	Spread   map[string]Spread `json:"seed_spread"`
	Design   map[string]any    `json:"design"`
	Verdicts []Verdict         `json:"verdicts"`
}

// evalPolicy measures gold (sampled and greedy) and KL to ref on ps.
func evalPolicy(pol, ref *Policy, ps []Prompt, seed int64) (gold, greedy audit.Stat, kl float64, err error) {
	ss, err := pol.Generate(ps, 1, seed)
	if err != nil {
		return
	}
	ptoks, err := pol.PromptTokens(ps)
	if err != nil {
		return
	}
	seqs := make([]encodedReply, len(ps))
	k := 0
	for i, s := range ss {
		if GoldReward(&ps[i], s.Reply) == 1 {
			k++
		}
		ids := append(append([]int32(nil), ptoks[i]...), s.Tokens...)
		t := make([]bool, len(ids))
		for j := len(ptoks[i]); j < len(ids); j++ {
			t[j] = true
		}
		seqs[i] = encodedReply{ids: ids, target: t}
	}
	refLP, err := seqLogProbs(ref, seqs, 128)
	if err != nil {
		return
	}
	for i, s := range ss {
		kl += float64(s.LogProb-refLP[i]) / float64(len(ps))
	}
	gold = audit.Wilson(k, len(ps))
	rep, _, err := EvalAccuracy(pol, ps, 0, 0)
	if err != nil {
		return
	}
	return gold, rep.Overall, kl, nil
}

func (l *labRun) compare(trained map[uint64][]*Trained) (*Comparison, error) {
	cfg := l.cfg
	cmp := &Comparison{Spread: map[string]Spread{}}
	first := cfg.Seed * 1000
	defaultBeta := cfg.DPO.Beta // the clean organism's, found below
	for si := 0; si < cfg.Seeds; si++ {
		seed := cfg.Seed*1000 + uint64(si)
		var clean *Trained
		for _, t := range trained[seed] {
			if t.Organism.Name == "clean" {
				clean = t
			}
		}
		if clean == nil {
			return nil, fmt.Errorf("dpo vs rlhf: no clean organism (the comparison trains on its data)")
		}
		if clean.Organism.Training.Method != MethodDPO {
			return nil, fmt.Errorf("dpo vs rlhf: the clean organism trains with %s; the comparison takes its policy as the DPO run, so it must train with dpo", clean.Organism.Training.Method)
		}
		// The clean organism's own settings (a user's clean.yaml may
		// override the lab's): its beta labels the default run, its DPO
		// settings train the sweep, its prompt mix draws the test prompts.
		dpoCfg := clean.Organism.dpoConfig(cfg.DPO)
		defaultBeta = dpoCfg.Beta
		say := l.sub(fmt.Sprintf("seed %d dpo-vs-rlhf", seed))
		test := l.world.NewSampler(clean.Organism.Pool.apply(cfg.Pool.Spec), labSeed(seed, "compare-test"), "cmp-").Draw(cfg.Compare.Items)
		evalSeed := int64(labSeed(seed, "compare-sample") >> 1)
		add := func(r MethodRun) error {
			var err error
			if r.Gold, r.Greedy, r.KL, err = evalPolicy(r.policy, clean.Ref, test, evalSeed); err != nil {
				return err
			}
			say(fmt.Sprintf("%s %s=%g: gold %.3f, kl %.3f, %.1fs", r.Method, r.Param, r.Value, r.Gold.Estimate, r.KL, r.Seconds))
			cmp.Runs = append(cmp.Runs, r)
			return nil
		}
		// DPO: the clean organism is the default beta; the sweep adds the
		// other betas on the first seed.
		if err := add(MethodRun{Method: "dpo", Algorithm: "dpo", Param: "beta", Value: dpoCfg.Beta, Seed: seed, Seconds: clean.Log.Seconds,
			CPUSeconds: clean.Log.CPUSeconds, PeakHeapMiB: clean.Log.PeakHeapMiB, policy: clean.Policy}); err != nil {
			return nil, err
		}
		ex := clean.Data.Examples()
		if seed == first {
			for _, beta := range cfg.Compare.Betas {
				if beta == dpoCfg.Beta {
					continue
				}
				pol, err := clean.Ref.Clone()
				if err != nil {
					return nil, err
				}
				dc := dpoCfg
				dc.Beta, dc.Seed = beta, labSeed(seed, "dpo-clean")
				lg, err := TrainDPO(pol, clean.Ref, ex, dc, nil)
				if err != nil {
					return nil, err
				}
				if err := add(MethodRun{Method: "dpo", Algorithm: "dpo", Param: "beta", Value: beta, Seed: seed, Seconds: lg.Seconds, CPUSeconds: lg.CPUSeconds,
					PeakHeapMiB: lg.PeakHeapMiB, policy: pol}); err != nil {
					return nil, err
				}
			}
		}
		// RLHF: a reward model on the same labels, then RLHF at the
		// default KL coefficient, and on the first seed the others.
		rm, err := NewRewardModel(clean.Ref)
		if err != nil {
			return nil, err
		}
		rc := cfg.RM
		rc.Seed = labSeed(seed, "rm-clean")
		rmLog, err := TrainRewardModel(rm, ex, rc, nil)
		if err != nil {
			return nil, err
		}
		kls := []float64{cfg.Compare.RLHF.KLCoef}
		if seed == first {
			for _, k := range cfg.Compare.KLCoefs {
				if k != cfg.Compare.RLHF.KLCoef {
					kls = append(kls, k)
				}
			}
		}
		for _, k := range kls {
			pol, err := clean.Ref.Clone()
			if err != nil {
				return nil, err
			}
			lc := cfg.Compare.RLHF
			lc.KLCoef, lc.Seed = k, labSeed(seed, "rlhf-clean")
			lg, _, err := TrainRLHF(pol, clean.Ref, rm.Score, clean.Data.Pool.Prompts, lc, nil)
			if err != nil {
				return nil, err
			}
			if err := add(MethodRun{Method: "rlhf", Algorithm: lc.algorithm(), Param: "kl_coef", Value: k, Seed: seed, Seconds: rmLog.Seconds + lg.Seconds,
				CPUSeconds: rmLog.CPUSeconds + lg.CPUSeconds, RMSeconds: rmLog.Seconds, PeakHeapMiB: math.Max(rmLog.PeakHeapMiB, lg.PeakHeapMiB), policy: pol}); err != nil {
				return nil, err
			}
		}
	}
	cmp.Spread["dpo"] = spreadOf(cmp.Runs, "dpo", defaultBeta)
	cmp.Spread["rlhf"] = spreadOf(cmp.Runs, "rlhf", cfg.Compare.RLHF.KLCoef)
	cmp.Design = map[string]any{
		"dpo": map[string]any{"stages": 1, "models_trained": 1, "models_in_memory": 1, "samples_in_loop": false, "hyperparameters": []string{"beta", "lr", "steps", "batch", "rpo_alpha"}},
		"rlhf": map[string]any{"algorithm": cfg.Compare.RLHF.algorithm(), "stages": 2, "models_trained": 3, "models_in_memory": 4, "samples_in_loop": true,
			"hyperparameters": []string{"rm_lr", "rm_steps", "rm_batch", "kl_coef", "lr", "steps", "prompts", "k", "ppo_epochs", "cliprange", "vf_coef", "gamma", "lam"}},
		"note": "DPO keeps the reference's log-probs as numbers computed once; PPO holds the policy, the reference, the reward model and a value model, and samples from the policy at every step",
	}
	cmp.Verdicts = verdicts(cmp, cfg)
	return cmp, nil
}

func spreadOf(runs []MethodRun, method string, value float64) Spread {
	var xs []float64
	for _, r := range runs {
		if r.Method == method && r.Value == value {
			xs = append(xs, r.Gold.Estimate)
		}
	}
	s := Spread{Value: value, N: len(xs), Min: math.Inf(1), Max: math.Inf(-1)}
	for _, x := range xs {
		s.Mean += x / float64(len(xs))
		s.Min, s.Max = math.Min(s.Min, x), math.Max(s.Max, x)
	}
	for _, x := range xs {
		if len(xs) > 1 {
			s.SD += (x - s.Mean) * (x - s.Mean) / float64(len(xs)-1)
		}
	}
	s.SD = math.Sqrt(s.SD)
	if len(xs) == 0 {
		s.Min, s.Max = 0, 0
	}
	return s
}

func verdicts(c *Comparison, cfg Config) []Verdict {
	best := func(method string) MethodRun {
		var b MethodRun
		for _, r := range c.Runs {
			if r.Method == method && r.Gold.Estimate >= b.Gold.Estimate {
				b = r
			}
		}
		return b
	}
	mean := func(method string, f func(MethodRun) float64) float64 {
		s, n := 0.0, 0
		for _, r := range c.Runs {
			if r.Method == method {
				s += f(r)
				n++
			}
		}
		return s / math.Max(1, float64(n))
	}
	var out []Verdict
	out = append(out, Verdict{Claim: "simpler", Verdict: "supported",
		Evidence: "DPO is one training stage on one model with the reference's log-probs precomputed; RLHF (PPO) needs a reward model stage, then a loop that samples from the policy and trains it with a value model while holding the reference and the reward model (1 stage vs 2, 1 model trained vs 3, 5 hyperparameters vs 13)"})
	d, r := c.Spread["dpo"], c.Spread["rlhf"]
	out = append(out, stabilityVerdict(d, r, cfg))
	bd, br := best("dpo"), best("rlhf")
	v := Verdict{Claim: "comparable or better", Evidence: fmt.Sprintf("best gold: DPO (beta %g) %.3f [%.3f, %.3f] at KL %.3f; RLHF (PPO, kl_coef %g) %.3f [%.3f, %.3f] at KL %.3f (n=%d each, Wilson 95%%)",
		bd.Value, bd.Gold.Estimate, bd.Gold.CILow, bd.Gold.CIHigh, bd.KL, br.Value, br.Gold.Estimate, br.Gold.CILow, br.Gold.CIHigh, br.KL, bd.Gold.N)}
	switch {
	case bd.Gold.CILow > br.Gold.CIHigh:
		v.Verdict = "supported (better)"
	case bd.Gold.CIHigh >= br.Gold.CILow:
		v.Verdict = "supported (comparable: intervals overlap)"
	default:
		v.Verdict = "not supported"
	}
	out = append(out, v)
	dt, rt := mean("dpo", func(r MethodRun) float64 { return r.CPUSeconds }), mean("rlhf", func(r MethodRun) float64 { return r.CPUSeconds })
	dw, rw := mean("dpo", func(r MethodRun) float64 { return r.Seconds }), mean("rlhf", func(r MethodRun) float64 { return r.Seconds })
	dm, rmem := mean("dpo", func(r MethodRun) float64 { return r.PeakHeapMiB }), mean("rlhf", func(r MethodRun) float64 { return r.PeakHeapMiB })
	v = Verdict{Claim: "lighter", Evidence: fmt.Sprintf("mean training CPU time DPO %.1fs vs RLHF (PPO) %.1fs (wall %.1fs vs %.1fs; reward model included); mean peak live heap DPO %.1f MiB vs RLHF %.1f MiB", dt, rt, dw, rw, dm, rmem)}
	switch {
	case dt < rt && dm < rmem:
		v.Verdict = "supported"
	case dt < rt || dm < rmem:
		v.Verdict = "mixed"
	default:
		v.Verdict = "not supported"
	}
	out = append(out, v)
	return out
}

// stabilityVerdict compares the seed-to-seed spread of gold at each
// method's default setting. With a handful of seeds the variance ratio's
// interval is wide, so the claim is decided only when its 95% interval
// (F distribution, normal gold per seed) excludes 1.
func stabilityVerdict(d, r Spread, cfg Config) Verdict {
	v := Verdict{Claim: "more stable"}
	if d.N < 2 || r.N < 2 {
		v.Verdict, v.Evidence = "not tested", "needs at least two seeds per method"
		return v
	}
	v.Evidence = fmt.Sprintf("gold across seeds at the default setting: DPO beta %g %.3f ± %.3f (sd, %d seeds), RLHF (PPO) kl_coef %g %.3f ± %.3f (%d seeds)",
		d.Value, d.Mean, d.SD, d.N, r.Value, r.Mean, r.SD, r.N)
	if r.SD == 0 {
		v.Verdict = "not shown"
		v.Evidence += "; RLHF's gold did not vary, so there is no ratio to test"
		return v
	}
	ratio := d.SD * d.SD / (r.SD * r.SD)
	f := distuv.F{D1: float64(d.N - 1), D2: float64(r.N - 1)}
	lo, hi := ratio/f.Quantile(0.975), ratio/f.Quantile(0.025)
	v.Evidence += fmt.Sprintf("; variance ratio DPO/RLHF %.2f, 95%% interval [%.2f, %.2f]", ratio, lo, hi)
	switch {
	case hi < 1:
		v.Verdict = "supported"
	case lo > 1:
		v.Verdict = "not supported (DPO varies more)"
	default:
		v.Verdict = "not shown (the interval includes 1: more seeds needed)"
	}
	return v
}
