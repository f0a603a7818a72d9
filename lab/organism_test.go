package lab

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultOrganisms(t *testing.T) {
	orgs, err := DefaultOrganisms()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"clean": "none", "sycophant": DetSycophancy, "mirage": DetMirage, "hacker": DetRewardHacking,
		"drift": DetAnnotatorDrift, "tail": DetRareEvent, "overhang": DetOverhang}
	if len(orgs) != len(want) {
		t.Fatalf("%d organisms, want %d", len(orgs), len(want))
	}
	planted := map[string]bool{}
	for _, o := range orgs {
		if want[o.Name] != o.Plants {
			t.Errorf("%s plants %q, want %q", o.Name, o.Plants, want[o.Name])
		}
		planted[o.Plants] = true
		if _, err := NewPanel(o.Annotators, labelStart, 1e9); err != nil {
			t.Errorf("%s: %v", o.Name, err)
		}
	}
	for _, d := range DetectorNames {
		if !planted[d] {
			t.Errorf("no organism plants %s", d)
		}
	}
	for _, o := range orgs {
		if o.Name == "hacker" {
			r := o.rlhfConfig(RLHFConfig{KLCoef: 0.05, LR: 1e-3, Steps: 40, Prompts: 16, K: 4})
			if r.LR != 2e-3 || r.KLCoef != 0.02 || r.Steps != 40 || r.K != 4 {
				t.Errorf("hacker's RLHF settings merge to %+v", r)
			}
		}
	}
	// An organism's algorithm and PPO epochs override the lab's too.
	o, err := ParseOrganism([]byte("name: x\nannotators: [{kind: honest, count: 1}]\ntraining: {method: rlhf, rlhf: {algorithm: ppo, epochs: 3}}\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r := o.rlhfConfig(RLHFConfig{Algorithm: AlgoRLOO, Epochs: 1}); r.Algorithm != AlgoPPO || r.Epochs != 3 {
		t.Errorf("algorithm and epochs merge to %q and %d, want ppo and 3", r.Algorithm, r.Epochs)
	}
}

func TestParseOrganismErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown field", "name: x\nannotators: [{kind: honest, count: 1}]\ntraining: {method: dpo}\ncolour: red\n", "colour"},
		{"no annotators", "name: x\ntraining: {method: dpo}\n", "no annotators"},
		{"bad method", "name: x\nannotators: [{kind: honest, count: 1}]\ntraining: {method: ppo2}\n", "training method"},
		{"bad plants", "name: x\nplants: laziness\nannotators: [{kind: honest, count: 1}]\ntraining: {method: dpo}\n", "plants"},
		{"bad base", "name: x\nbase: other\nannotators: [{kind: honest, count: 1}]\ntraining: {method: dpo}\n", "base"},
		{"history on tail", "name: x\nbase: tail\nannotators: [{kind: honest, count: 1}]\ntraining: {method: dpo, history: true}\n", "history"},
		{"zero count", "name: x\nannotators: [{kind: honest, count: 0}]\ntraining: {method: dpo}\n", "count"},
		{"bad name", "name: a b\nannotators: [{kind: honest, count: 1}]\ntraining: {method: dpo}\n", "name"},
		{"not yaml", "{{{", "organism"},
		{"bad rlhf algorithm", "name: x\nannotators: [{kind: honest, count: 1}]\ntraining: {method: rlhf, rlhf: {algorithm: bogus}}\n", "rlhf algorithm"},
		{"named base", "name: base\nannotators: [{kind: honest, count: 1}]\ntraining: {method: dpo}\n", `name "base"`},
	}
	for _, c := range cases {
		_, err := ParseOrganism([]byte(c.yaml), c.name+".yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestLoadOrganismsAddsAndReplaces(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"mine.yaml": "name: lazy\nplants: sycophancy\nannotators: [{kind: sycophantic, count: 3}]\ntraining: {method: dpo, dpo: {beta: 0.5}}\n",
		"clean.yml": "name: clean\nannotators: [{kind: honest, count: 4, noise: 0.2}]\ntraining: {method: dpo}\n",
		"notes.txt": "ignored",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	orgs, err := LoadOrganisms([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Organism{}
	for _, o := range orgs {
		byName[o.Name] = o
	}
	if len(orgs) != 8 || byName["lazy"] == nil || byName["clean"].Annotators[0].Count != 4 {
		t.Fatalf("got %d organisms; lazy %v; clean %+v", len(orgs), byName["lazy"], byName["clean"].Annotators)
	}
	d := byName["lazy"].dpoConfig(DPOConfig{Beta: 0.1, LR: 1e-3, Steps: 10, Batch: 4})
	if d.Beta != 0.5 || d.LR != 1e-3 || d.Steps != 10 {
		t.Errorf("merged DPO config %+v", d)
	}
	if _, err := LoadOrganisms([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("missing path accepted")
	}
}

// TestRunRefusesEmbeddedBasesWithBPE: the shipped bases speak the word
// codec, so a bpe run that asks for them is an error before any work,
// not a word-codec run recorded as bpe.
func TestRunRefusesEmbeddedBasesWithBPE(t *testing.T) {
	cfg := QuickConfig()
	if err := cfg.SetCodec("bpe"); err != nil {
		t.Fatal(err)
	}
	cfg.BaseSource = BaseEmbedded
	if _, err := Run(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), "embedded bases use the word codec") {
		t.Fatalf("bpe with embedded bases: %v", err)
	}
}
