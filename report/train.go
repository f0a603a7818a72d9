package report

// A train run's report (train/run.go: config.json and metrics.jsonl with
// TRL's metric names): one chart per family of metrics.

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/internal/textfile"
	"github.com/alignlab/alignlab/train"
)

// metricFamily groups TRL metric names into one chart.
type metricFamily struct {
	title, ylabel, note string
	match               func(string) bool
}

var metricFamilies = []metricFamily{
	{"Loss", "loss (nats)", "Training and evaluation loss; the evaluation loss rising while the training loss falls is overfitting.",
		func(k string) bool { return strings.Contains(k, "loss") }},
	{"Rewards", "implicit reward (β · log-ratio)", "DPO's implicit rewards of the chosen and rejected replies and their margin; a growing margin means the policy separates the pair.",
		func(k string) bool {
			return (strings.HasPrefix(k, "rewards/") || strings.Contains(k, "/rewards/") || strings.Contains(k, "score")) && !strings.Contains(k, "accurac")
		}},
	{"Accuracy", "share", "The share of pairs whose chosen reply gets the higher reward.",
		func(k string) bool { return strings.Contains(k, "accurac") }},
	{"KL to the reference", "KL (nats)", "How far the policy has moved from the reference model.",
		func(k string) bool { return strings.Contains(k, "kl") }},
	{"Log-probabilities", "log-probability (nats)", "Mean log-probability of the chosen and rejected replies under the policy; both falling together is the likelihood displacement DPO is known for.",
		func(k string) bool { return strings.Contains(k, "logps") || strings.Contains(k, "logits") }},
	{"Learning rate", "learning rate", "The schedule the optimiser followed.",
		func(k string) bool { return k == "learning_rate" || k == "lr" }},
	{"Gradient norm", "gradient norm (before clipping)", "Spikes here often precede loss spikes.",
		func(k string) bool { return strings.Contains(k, "grad_norm") }},
}

// addTrain adds a train run's curves and config.
func addTrain(p *Page, dir string, _ bool) error {
	ms, err := train.ReadMetrics(dir)
	if err != nil {
		return err
	}
	if strings.HasPrefix(p.Title, "alignlab run ") {
		p.Title = "alignlab train: " + filepath.Base(dir)
	}
	s := &Section{ID: "train", Title: "Training curves", Intro: "Logged metrics (TRL names) against the optimiser step."}
	keys := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			if k != "step" && k != "epoch" {
				keys[k] = true
			}
		}
	}
	used := map[string]bool{}
	for _, fam := range metricFamilies {
		var names []string
		for k := range keys {
			if !used[k] && fam.match(k) {
				names = append(names, k)
			}
		}
		if len(names) == 0 {
			continue
		}
		sort.Strings(names)
		var lines []LineData
		for _, k := range names {
			used[k] = true
			var l LineData
			l.Name = k
			for _, m := range ms {
				if v, ok := m[k]; ok && !math.IsNaN(v) {
					l.X = append(l.X, m["step"])
					l.Y = append(l.Y, v)
				}
			}
			l.Points = len(l.X) <= 30
			if len(l.X) > 0 {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			s.chart(LineChart(LineSpec{Title: fam.title, XLabel: "training step", YLabel: fam.ylabel, Lines: lines, Note: fam.note}))
		}
	}
	var rest []string
	for k := range keys {
		if !used[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		l := LineData{Name: k}
		for _, m := range ms {
			if v, ok := m[k]; ok && !math.IsNaN(v) {
				l.X, l.Y = append(l.X, m["step"]), append(l.Y, v)
			}
		}
		if len(l.X) > 0 {
			l.Points = len(l.X) <= 30
			s.chart(LineChart(LineSpec{Title: k, XLabel: "training step", YLabel: k, Lines: []LineData{l}, Note: "Logged as " + k + "."}))
		}
	}
	if len(s.Blocks) == 0 {
		s.text("metrics.jsonl has no logged values yet.")
	}
	p.Sections = append(p.Sections, s)
	if raw, err := textfile.ReadFile(filepath.Join(dir, train.RunConfigFile)); err == nil {
		var buf bytes.Buffer
		if json.Indent(&buf, raw, "", "  ") == nil {
			raw = buf.Bytes()
		}
		p.Sections = append(p.Sections, &Section{ID: "config", Title: "Configuration", Intro: "config.json as the run wrote it.",
			Blocks: []Block{{Pre: string(raw)}}})
	}
	return nil
}
