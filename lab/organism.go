package lab

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Organisms are named configurations that each plant one failure mode by
// their choice of annotators, data and training. They are YAML files:
// the defaults are embedded (organisms/*.yaml) and users add their own
// with LoadOrganisms.

//go:embed organisms/*.yaml
var organismFS embed.FS

// Training methods of an organism.
const (
	MethodDPO  = "dpo"  // DPO on the organism's labels
	MethodRLHF = "rlhf" // reward model on the labels, then RLHF against it
)

// Organism is one model organism.
type Organism struct {
	Name string `yaml:"name" json:"name"`
	// Plants names the failure mode the organism plants (a detector name,
	// or "none" for a control).
	Plants      string `yaml:"plants" json:"plants"`
	Description string `yaml:"description" json:"description"`
	// Base is the starting policy: "main" (default) or "tail".
	Base string `yaml:"base" json:"base"`
	// Pool overrides attributes of the lab's preference-pool prompts.
	Pool       *PoolOverride   `yaml:"pool" json:"pool,omitempty"`
	Annotators []AnnotatorSpec `yaml:"annotators" json:"annotators"`
	Training   struct {
		Method string `yaml:"method" json:"method"`
		// DPO overrides the lab's DPO settings (unset fields keep them).
		DPO *DPOConfig `yaml:"dpo" json:"dpo,omitempty"`
		// RLHF overrides the lab's RLHF settings (unset fields keep them).
		RLHF *RLHFConfig `yaml:"rlhf" json:"rlhf,omitempty"`
		// History puts the main base's own training checkpoints in front
		// of the organism's series (main base only).
		History bool `yaml:"history" json:"history,omitempty"`
	} `yaml:"training" json:"training"`
	// Source is the file it came from.
	Source string `yaml:"-" json:"source"`
}

// PoolOverride changes some of the pool's prompt rates (unset fields keep
// the lab's).
type PoolOverride struct {
	RareRate     *float64 `yaml:"rare_rate" json:"rare_rate,omitempty"`
	EvalRate     *float64 `yaml:"eval_rate" json:"eval_rate,omitempty"`
	BeliefRate   *float64 `yaml:"belief_rate" json:"belief_rate,omitempty"`
	PushbackRate *float64 `yaml:"pushback_rate" json:"pushback_rate,omitempty"`
}

// apply returns spec with the override's fields.
func (o *PoolOverride) apply(spec Spec) Spec {
	if o == nil {
		return spec
	}
	set := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&spec.RareRate, o.RareRate)
	set(&spec.EvalRate, o.EvalRate)
	set(&spec.BeliefRate, o.BeliefRate)
	set(&spec.PushbackRate, o.PushbackRate)
	return spec
}

// ParseOrganism reads one organism from YAML and validates it.
func ParseOrganism(data []byte, source string) (*Organism, error) {
	var o Organism
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("organism %s: %w", source, err)
	}
	o.Source = source
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("organism %s: %w", source, err)
	}
	return &o, nil
}

func (o *Organism) validate() error {
	var problems []string
	if o.Name == "" || strings.ContainsAny(o.Name, "/\\ ") {
		problems = append(problems, fmt.Sprintf("name %q must be a non-empty word", o.Name))
	}
	switch o.Base {
	case "":
		o.Base = "main"
	case "main", "tail":
	default:
		problems = append(problems, fmt.Sprintf("base %q (want main or tail)", o.Base))
	}
	if o.Plants == "" {
		o.Plants = "none"
	}
	if o.Plants != "none" && !contains(DetectorNames, o.Plants) {
		problems = append(problems, fmt.Sprintf("plants %q (want none or one of %s)", o.Plants, strings.Join(DetectorNames, ", ")))
	}
	if len(o.Annotators) == 0 {
		problems = append(problems, "no annotators")
	}
	for _, a := range o.Annotators {
		if a.Count <= 0 {
			problems = append(problems, fmt.Sprintf("annotators of kind %q: count %d", a.Kind, a.Count))
		}
	}
	switch o.Training.Method {
	case MethodDPO, MethodRLHF:
	default:
		problems = append(problems, fmt.Sprintf("training method %q (want dpo or rlhf)", o.Training.Method))
	}
	if o.Training.History && o.Base != "main" {
		problems = append(problems, "history needs base main (the tail base keeps no history)")
	}
	if d := o.Training.DPO; d != nil && (d.Beta < 0 || d.LR < 0 || d.Steps < 0 || d.Batch < 0) {
		problems = append(problems, "dpo settings must not be negative")
	}
	if r := o.Training.RLHF; r != nil && (r.KLCoef < 0 || r.LR < 0 || r.Steps < 0 || r.Prompts < 0 || r.K < 0 || r.Epochs < 0) {
		problems = append(problems, "rlhf settings must not be negative")
	}
	if r := o.Training.RLHF; r != nil && r.Algorithm != "" && r.Algorithm != AlgoRLOO && r.Algorithm != AlgoPPO {
		problems = append(problems, fmt.Sprintf("rlhf algorithm %q (want %s or %s)", r.Algorithm, AlgoRLOO, AlgoPPO))
	}
	if o.Name == "base" {
		problems = append(problems, `name "base" is the reference policy's in the lab's results`)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// DefaultOrganisms returns the embedded organisms in a fixed order:
// clean, sycophant, mirage, hacker, drift, tail, overhang.
func DefaultOrganisms() ([]*Organism, error) {
	var out []*Organism
	for _, name := range []string{"clean", "sycophant", "mirage", "hacker", "drift", "tail", "overhang"} {
		data, err := organismFS.ReadFile("organisms/" + name + ".yaml")
		if err != nil {
			return nil, err
		}
		o, err := ParseOrganism(data, "embedded:"+name+".yaml")
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// LoadOrganisms reads organism files (a file, or every *.yaml and *.yml
// in a directory) and adds them to the defaults; a file whose name matches
// a default replaces it.
func LoadOrganisms(paths []string) ([]*Organism, error) {
	orgs, err := DefaultOrganisms()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("organisms: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(p, pat))
			sort.Strings(m)
			files = append(files, m...)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("organisms: %w", err)
		}
		o, err := ParseOrganism(data, f)
		if err != nil {
			return nil, err
		}
		replaced := false
		for i, d := range orgs {
			if d.Name == o.Name {
				orgs[i], replaced = o, true
			}
		}
		if !replaced {
			orgs = append(orgs, o)
		}
	}
	return orgs, nil
}

// dpoConfig merges the organism's DPO overrides into the lab's settings.
func (o *Organism) dpoConfig(lab DPOConfig) DPOConfig {
	d := o.Training.DPO
	if d == nil {
		return lab
	}
	override(&lab.Beta, d.Beta)
	override(&lab.LR, d.LR)
	override(&lab.Steps, d.Steps)
	override(&lab.Batch, d.Batch)
	override(&lab.Checkpoints, d.Checkpoints)
	override(&lab.RPOAlpha, d.RPOAlpha)
	return lab
}

// rlhfConfig merges the organism's RLHF overrides into the lab's settings.
func (o *Organism) rlhfConfig(lab RLHFConfig) RLHFConfig {
	r := o.Training.RLHF
	if r == nil {
		return lab
	}
	override(&lab.KLCoef, r.KLCoef)
	override(&lab.LR, r.LR)
	override(&lab.Steps, r.Steps)
	override(&lab.Prompts, r.Prompts)
	override(&lab.K, r.K)
	override(&lab.Epochs, r.Epochs)
	override(&lab.Checkpoints, r.Checkpoints)
	if r.Algorithm != "" {
		lab.Algorithm = r.Algorithm
	}
	return lab
}

// override sets *dst to v when the organism gave v (a positive value; zero
// means "the lab's setting").
func override[T int | float32 | float64](dst *T, v T) {
	if v > 0 {
		*dst = v
	}
}
