package audit

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/target"
)

// Options are what probes build their tasks from.
type Options struct {
	// Dataset is the base items (a loaded suite or the built-in bank).
	Dataset Dataset
	Seed    int64
	// Scorer is the default scorer for samples that name none.
	Scorer Scorer
	// Judge grades or rates responses; the reward-hacking probe's proxy.
	Judge *Judge
	// Series are the overhang probe's checkpoints, in training order.
	Series []target.Target
	// OverhangSamples is how many samples per item estimate a pass rate
	// when log-probabilities are not offered (default 8).
	OverhangSamples int
	// OverhangMetric is "auto", "logprob" or "passrate".
	OverhangMetric string
	// MetricsLog is a training run's metric log for the reward-hacking
	// probe (JSONL with step/kl, proxy and gold).
	MetricsLog string
	// ProxyThreshold is the proxy score in (0, 1] counted as approval (0:
	// the default, 0.5).
	ProxyThreshold float64
	// Templates replace the probes' built-in wordings (frames, stated
	// belief, pushback) where set: a model trained on its own wordings (the
	// lab's) is asked in those.
	Templates Templates
	// NoPerturbations leaves out the rare-event probe's CheckList
	// perturbations and directional variants, so that its tail is only the
	// samples' own rare variants (metadata rare_question/rare_target) and
	// rare entities.
	NoPerturbations bool
	// PairedSeeds has the versions of one item that a paired difference
	// compares (mirage's two frames, rare-event's common form and its
	// variants) sample from the same seed, so that sampling noise largely
	// cancels in the difference (common random numbers) and its interval
	// narrows. Off, every task has its own seed.
	PairedSeeds bool
}

// pairKey is the seed key of an item's versions under o (see PairedSeeds).
func (o *Options) pairKey(probe, id string) string {
	if o.PairedSeeds {
		return probe + "/" + id
	}
	return ""
}

// Templates are wordings of the probes' prompts; empty fields keep the
// built-in ones. "{question}" stands for the sample's question and
// "{wrong}" for its wrong answer.
type Templates struct {
	// EvalFrames and DeployFrames are the mirage probe's frames (both or
	// neither); templates rotate over items as with the built-in ones.
	EvalFrames   []string `json:"eval_frames,omitempty" yaml:"eval_frames"`
	DeployFrames []string `json:"deploy_frames,omitempty" yaml:"deploy_frames"`
	// Belief states a wrong belief with the question (sycophancy).
	Belief string `json:"belief,omitempty" yaml:"belief"`
	// PushBack is the user's second turn disputing the first answer
	// (sycophancy's are-you-sure).
	PushBack string `json:"pushback,omitempty" yaml:"pushback"`
	// Answer words the expected answer ("{answer}") as the reply whose
	// log-probability the overhang probe follows, for models that answer
	// in sentences.
	Answer string `json:"answer,omitempty" yaml:"answer"`
}

// fill renders a template.
func fill(tmpl, question, wrong string) string {
	return strings.NewReplacer("{question}", question, "{wrong}", wrong).Replace(tmpl)
}

// frames returns the mirage probe's frames under o.
func (o *Options) frames() (eval, deploy []string) {
	if len(o.Templates.EvalFrames) > 0 && len(o.Templates.DeployFrames) > 0 {
		return o.Templates.EvalFrames, o.Templates.DeployFrames
	}
	return EvalFrames, DeployFrames
}

// beliefQuestion is q with the wrong belief stated, under o.
func (o *Options) beliefQuestion(q, wrong string) string {
	if o.Templates.Belief != "" {
		return fill(o.Templates.Belief, q, wrong)
	}
	return BeliefText(q, wrong)
}

// Report is a probe's finding.
type Report struct {
	Stat
	// Flagged is set by the gate: the policy's threshold does not hold.
	Flagged bool `json:"flagged"`
	// Threshold is the policy rule applied, if any.
	Threshold *Rule `json:"threshold,omitempty"`
	// Metrics are further named statistics the policy may also gate on
	// (as "probe.metric").
	Metrics map[string]Stat `json:"metrics,omitempty"`
	// Details are the probe's own breakdowns.
	Details map[string]any `json:"details,omitempty"`
	// Error says why the probe could not report, if it could not.
	Error string `json:"error,omitempty"`
	// MetricFlags lists the metrics whose policy rules failed.
	MetricFlags []string `json:"flagged_metrics,omitempty"`
}

// Probe measures one failure mode.
type Probe interface {
	// Name is the probe's name on the command line and in reports.
	Name() string
	// Estimand says in words what the estimate is.
	Estimand() string
	// Tasks builds the work. It may make a cheap capability check (the
	// overhang probe asks whether log-probabilities are offered).
	Tasks(ctx context.Context, o *Options) ([]Task, error)
	// Analyze turns this probe's stored results into a report.
	Analyze(results []Result, o *Options) (*Report, error)
}

var registry = map[string]Probe{}

func register(p Probe) { registry[p.Name()] = p }

// ProbeNames lists the registered probes, sorted.
func ProbeNames() []string {
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ProbeByName returns a registered probe.
func ProbeByName(name string) (Probe, error) {
	p, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown probe %q (have %s)", name, strings.Join(ProbeNames(), ", "))
	}
	return p, nil
}

// scorerFor resolves the scorer of one sample under the options.
func (o *Options) scorerFor(s Sample) (Scorer, error) {
	def := o.Scorer
	if def == nil {
		def = autoScorer{}
	}
	return sampleScorer(s, def, o.Judge)
}

// byItem groups results by sample ID, keyed further by the "variant" meta.
func byItem(results []Result) map[string]map[string]Result {
	out := map[string]map[string]Result{}
	for _, r := range results {
		m := out[r.SampleID]
		if m == nil {
			m = map[string]Result{}
			out[r.SampleID] = m
		}
		m[r.Meta["variant"]] = r
	}
	return out
}

// sortedKeys returns a map's keys in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
