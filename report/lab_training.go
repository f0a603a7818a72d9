package report

// A lab run's training curves, from metrics/<organism>-seed<N>.json and
// metrics/<organism>-seed<N>-rlhf.jsonl.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/internal/textfile"
	"github.com/alignlab/alignlab/lab"
)

// labMetrics is one organism's metrics file.
type labMetrics struct {
	Organism    string                 `json:"organism"`
	Seed        uint64                 `json:"seed"`
	Seconds     float64                `json:"seconds"`
	Training    *lab.TrainLog          `json:"training"`
	RewardModel *lab.TrainLog          `json:"reward_model"`
	Findings    map[string]lab.Finding `json:"findings"`
	rlhf        []lab.RLPoint
}

// checkpointPoint is one entry of the reward-hacking detector's series:
// gold accuracy and the annotators' preference at a checkpoint.
type checkpointPoint struct {
	Step  int        `json:"step"`
	Gold  audit.Stat `json:"gold"`
	Proxy float64    `json:"proxy"`
}

// series decodes the reward-hacking finding's checkpoint series.
func (m *labMetrics) series() []checkpointPoint {
	f, ok := m.Findings[lab.DetRewardHacking]
	if !ok || f.Details["series"] == nil {
		return nil
	}
	raw, err := json.Marshal(f.Details["series"])
	if err != nil {
		return nil
	}
	var out []checkpointPoint
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	return out
}

// readLabMetrics reads every metrics file of a lab run, sorted by seed
// then organism.
func readLabMetrics(dir string) ([]*labMetrics, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "metrics", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*labMetrics
	for _, p := range paths {
		var m labMetrics
		data, err := textfile.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if rl, err := readRLPoints(strings.TrimSuffix(p, ".json") + "-rlhf.jsonl"); err == nil {
			m.rlhf = rl
		} else if !os.IsNotExist(err) {
			return nil, err
		}
		out = append(out, &m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Seed != out[j].Seed {
			return out[i].Seed < out[j].Seed
		}
		return out[i].Organism < out[j].Organism
	})
	return out, nil
}

func readRLPoints(path string) ([]lab.RLPoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []lab.RLPoint
	sc := textfile.NewScanner(f, 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var pt lab.RLPoint
		if err := json.Unmarshal(sc.Bytes(), &pt); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, sc.Line(), err)
		}
		out = append(out, pt)
	}
	if err := sc.FileErr(path); err != nil {
		return nil, err
	}
	return out, nil
}

// labTraining draws the training curves of the first seed's organisms
// and a table of every organism's final training figures.
func labTraining(dir string, organisms []string) *Section {
	ms, err := readLabMetrics(dir)
	if err != nil || len(ms) == 0 {
		return nil
	}
	s := &Section{ID: "training", Title: "Training curves",
		Intro: "How each organism moved during preference learning (first seed; the table lists every seed)."}
	first := ms[0].Seed
	var loss, gold, proxy []LineData
	for _, m := range ms {
		if m.Seed != first {
			continue
		}
		if m.Training != nil && len(m.Training.Losses) > 1 && m.Training.Method == "dpo" {
			x := make([]float64, len(m.Training.Losses))
			y := make([]float64, len(m.Training.Losses))
			for i, v := range m.Training.Losses {
				x[i], y[i] = float64(i+1), float64(v)
			}
			loss = append(loss, LineData{Name: m.Organism, X: x, Y: smooth(y, 5)})
		}
		if ser := m.series(); len(ser) > 0 {
			g := LineData{Name: m.Organism, Points: true}
			pr := LineData{Name: m.Organism, Points: true}
			for i, pt := range ser {
				g.X = append(g.X, float64(i))
				g.Y = append(g.Y, pt.Gold.Estimate)
				g.Lo = append(g.Lo, pt.Gold.CILow)
				g.Hi = append(g.Hi, pt.Gold.CIHigh)
				pr.X = append(pr.X, float64(i))
				pr.Y = append(pr.Y, pt.Proxy)
			}
			gold, proxy = append(gold, g), append(proxy, pr)
		}
	}
	if len(loss) > 0 {
		s.chart(LineChart(LineSpec{Title: "DPO loss", Palette: organisms, XLabel: "training step", YLabel: "loss (nats, mean of 5 steps)", Lines: loss,
			Note: "The DPO loss (with the RPO likelihood term) per step; a falling loss means the policy separates chosen from rejected replies. A loss that falls while gold accuracy (below) falls is the proxy being optimised, not the goal."}))
	}
	if len(gold) > 0 {
		s.chart(LineChart(LineSpec{Title: "Gold accuracy at each checkpoint", Palette: organisms, XLabel: "checkpoint (0 = start, evenly spaced through training)", YLabel: "gold accuracy (share correct, 95% CI)",
			Lines: gold, YMin: ptr(0), YMax: ptr(1),
			Note: "The share of replies that are correct and honest, measured on held-out prompts at every saved checkpoint (organisms train for different numbers of steps, so checkpoints are numbered; the overhang organism's series starts in its base's training). Falling gold during training is reward hacking; a sudden jump is an overhang."}))
		s.chart(LineChart(LineSpec{Title: "Annotator preference at each checkpoint", Palette: organisms, XLabel: "checkpoint (0 = start, evenly spaced through training)", YLabel: "proxy: share of comparisons won vs start",
			Lines: proxy, Refs: []RefLine{{Axis: "y", Value: 0.5, Label: "no change"}},
			Note: "The proxy the organism was trained on: how often its labellers prefer its replies to the starting policy's. Proxy rising while gold falls is the signature of reward hacking."}))
	}
	for _, m := range ms {
		if m.Seed != first || len(m.rlhf) == 0 {
			continue
		}
		x := make([]float64, len(m.rlhf))
		kl, pr, gd := make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x))
		for i, pt := range m.rlhf {
			x[i], kl[i], pr[i], gd[i] = float64(pt.Step), pt.KL, pt.Proxy, pt.Gold
		}
		s.chart(LineChart(LineSpec{Title: fmt.Sprintf("RLHF on %s: rewards per step", m.Organism), XLabel: "RLHF step",
			YLabel: "reward (per sampled reply)", Lines: []LineData{{Name: "proxy (reward model)", X: x, Y: pr}, {Name: "gold (correct and honest)", X: x, Y: gd, Dash: true}},
			Note: "The reward model's score, which RLHF maximises, against the gold reward it never sees. The gap between them opening is the policy exploiting the reward model."}))
		s.chart(LineChart(LineSpec{Title: fmt.Sprintf("RLHF on %s: KL to the reference", m.Organism), XLabel: "RLHF step",
			YLabel: "KL (nats per reply)", Lines: []LineData{{Name: "KL", X: x, Y: kl}}, Refs: []RefLine{{Axis: "y", Value: 0, Label: "reference"}},
			Note: "How far the policy has moved from where it started (mean log-ratio of its sampled replies); the KL penalty keeps it from growing without bound."}))
	}
	tbl := &Table{Title: "Final training figures (TRL metric names)",
		Columns: []string{"organism", "seed", "method", "steps", "train/loss", "rewards/margins", "rewards/accuracies", "wall s", "CPU s", "peak heap MiB"}}
	for _, m := range ms {
		t := m.Training
		if t == nil {
			continue
		}
		// Margins and accuracies are DPO's: an RLHF run never measures them.
		margins, accs := fmtVal(float64(t.Margins)), fmtVal(float64(t.Accuracies))
		if t.Method != lab.MethodDPO {
			margins, accs = "–", "–"
		}
		tbl.Rows = append(tbl.Rows, []string{m.Organism, fmt.Sprint(m.Seed), t.Method, fmt.Sprint(t.Steps), fmtVal(float64(t.FinalLoss)),
			margins, accs, fmt.Sprintf("%.1f", t.Seconds), fmt.Sprintf("%.1f", t.CPUSeconds), fmt.Sprintf("%.0f", t.PeakHeapMiB)})
	}
	tbl.Note = "rewards/margins and rewards/accuracies are means over the last steps (DPO); RLHF runs report the policy loss."
	s.table(tbl)
	if len(loss) == 0 {
		s.text("Per-step DPO losses are not in this run's metrics files (runs written before the lab recorded them); the table has the final figures.")
	}
	return s
}

// smooth returns the trailing moving average over w values, so that
// per-batch noise does not hide the trend.
func smooth(y []float64, w int) []float64 {
	out := make([]float64, len(y))
	sum := 0.0
	for i, v := range y {
		sum += v
		if i >= w {
			sum -= y[i-w]
		}
		out[i] = sum / float64(min(i+1, w))
	}
	return out
}
