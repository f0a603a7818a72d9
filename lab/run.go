package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// labRun is the state of one Run.
type labRun struct {
	ctx      context.Context
	cfg      Config
	world    *World
	bases    *Bases
	dir      string // run directory ("" writes only what the detectors need, to a temp dir)
	dataDir  string
	progress func(string)
	start    time.Time
}

func (l *labRun) base(name string) *Policy {
	if name == "tail" {
		return l.bases.Tail
	}
	return l.bases.Main
}

// sub returns a progress function that prefixes its lines.
func (l *labRun) sub(prefix string) func(string) {
	return func(s string) { l.say("%s: %s", prefix, s) }
}

func (l *labRun) say(format string, a ...any) {
	if l.progress != nil {
		l.progress(fmt.Sprintf("[%5.1fs] ", time.Since(l.start).Seconds()) + fmt.Sprintf(format, a...))
	}
}

// Options are the run-time choices that are not part of the experiment.
type Options struct {
	// Out is the runs directory; the run writes Out/<id>/. Empty writes
	// nothing but the temporary data the detectors read.
	Out string
	// Progress receives status lines (nil: silent).
	Progress func(string)
	// Bases, when set, is a directory with base/ and base-tail/ policies
	// (a previous run's checkpoints/) to use instead of training them.
	Bases string
}

// Run builds the world, trains the bases and every organism for every
// seed, runs every detector on every organism, compares DPO with RLHF on
// the clean organism's data, places every policy on the trilemma and
// returns the summary (also written to Out/<id>/summary.json).
func Run(ctx context.Context, cfg Config, opts Options) (*Summary, error) {
	if len(cfg.Organisms) == 0 {
		orgs, err := DefaultOrganisms()
		if err != nil {
			return nil, err
		}
		cfg.Organisms = orgs
	}
	if cfg.Seeds < 1 {
		return nil, fmt.Errorf("lab: seeds %d, need at least 1", cfg.Seeds)
	}
	if cfg.Base.Codec == "bpe" && cfg.BaseSource == BaseEmbedded && opts.Bases == "" {
		// The shipped bases speak the word codec; loading them would run
		// the word codec while the config says bpe.
		return nil, fmt.Errorf("lab: the embedded bases use the word codec; with the bpe codec the bases are trained (bases %q, or a directory of bases)", BaseTrain)
	}
	l := &labRun{ctx: ctx, cfg: cfg, world: NewWorld(), progress: opts.Progress, start: time.Now()}
	id := fmt.Sprintf("lab-%s-seed%d", l.start.UTC().Format("20060102-150405"), cfg.Seed)
	if cfg.Quick {
		id += "-quick"
	}
	if opts.Out != "" {
		l.dir = filepath.Join(opts.Out, id)
		l.dataDir = filepath.Join(l.dir, "data")
	} else {
		tmp, err := os.MkdirTemp("", "alignlab-lab-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		l.dataDir = tmp
	}
	if err := os.MkdirAll(l.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if l.dir != "" {
		if err := writeJSON(filepath.Join(l.dir, "config.json"), cfg); err != nil {
			return nil, err
		}
	}
	sum := &Summary{ID: id, Dir: l.dir, Seed: cfg.Seed, Seeds: cfg.Seeds, Quick: cfg.Quick}
	// 1. Bases.
	var b *Bases
	var err error
	switch {
	case opts.Bases != "":
		l.say("loading the base models from %s", opts.Bases)
		if b, err = loadBases(opts.Bases, cfg.Base.MaxNew); err != nil {
			return nil, err
		}
	case cfg.BaseSource == BaseEmbedded:
		l.say("loading the embedded base models")
		if b, err = embeddedBases(cfg.Base.MaxNew); err != nil {
			return nil, err
		}
	case cfg.BaseSource == BaseTrain || cfg.BaseSource == "":
		l.say("training the base models (%d+%d SFT steps, tail branch at the trunk)", cfg.Base.TrunkSteps, cfg.Base.Steps)
		if b, err = TrainBases(l.world, cfg.Base, cfg.Seed, l.sub("base")); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("lab: base source %q (want %s or %s)", cfg.BaseSource, BaseTrain, BaseEmbedded)
	}
	l.bases = b
	if sum.Base, err = l.baseReport(); err != nil {
		return nil, err
	}
	l.say("base accuracy (greedy) %.3f [%.3f, %.3f]; tail base %.3f", sum.Base.Main.Greedy.Overall.Estimate,
		sum.Base.Main.Greedy.Overall.CILow, sum.Base.Main.Greedy.Overall.CIHigh, sum.Base.Tail.Greedy.Overall.Estimate)
	if l.dir != "" {
		for name, p := range map[string]*Policy{"base": b.Main, "base-tail": b.Tail} {
			if err := p.Save(filepath.Join(l.dir, "checkpoints", name)); err != nil {
				return nil, err
			}
		}
		if err := saveHistory(filepath.Join(l.dir, "checkpoints"), b); err != nil {
			return nil, err
		}
	}
	// 2. Organisms × seeds × detectors.
	var cells []SeedFinding
	trained := map[uint64][]*Trained{}
	for si := 0; si < cfg.Seeds; si++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		seed := cfg.Seed*1000 + uint64(si)
		sr := &seedRun{lab: l, seed: seed, pools: map[string]*Pool{}}
		es := NewEvalSets(l.world, cfg.EvalItems, labSeed(seed, "eval"))
		for _, o := range cfg.Organisms {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t, err := sr.train(o)
			if err != nil {
				return nil, err
			}
			fs, err := l.detect(t, es)
			if err != nil {
				return nil, fmt.Errorf("organism %s seed %d: %w", o.Name, seed, err)
			}
			for det, f := range fs {
				cells = append(cells, SeedFinding{Detector: det, Organism: o.Name, Seed: seed, Finding: f})
			}
			l.say("seed %d %s: trained in %.1fs; flagged: %v", seed, o.Name, t.Seconds, flaggedNames(fs))
			trained[seed] = append(trained[seed], t)
			if err := l.saveOrganism(t, fs); err != nil {
				return nil, err
			}
		}
	}
	sum.Validity, sum.ValidityCheck = buildMatrix(cells, cfg.Organisms)
	sum.PerSeed = cells
	// 3. DPO against RLHF on the clean organism's data.
	if sum.DPOvsRLHF, err = l.compare(trained); err != nil {
		return nil, err
	}
	// 4. The trilemma for every trained policy (first seed) and the sweep.
	if sum.Trilemma, sum.TrilemmaNote, err = l.trilemma(trained[cfg.Seed*1000], sum.DPOvsRLHF); err != nil {
		return nil, err
	}
	sum.Seconds = time.Since(l.start).Seconds()
	if l.dir != "" {
		if err := writeJSON(filepath.Join(l.dir, "summary.json"), sum); err != nil {
			return nil, err
		}
	}
	l.say("done in %.1fs", sum.Seconds)
	return sum, nil
}

func flaggedNames(fs map[string]Finding) []string {
	var out []string
	for _, d := range DetectorNames {
		if fs[d].Flagged {
			out = append(out, d)
		}
	}
	return out
}

// detect runs every detector on one trained organism.
func (l *labRun) detect(t *Trained, es *EvalSets) (map[string]Finding, error) {
	th, temp := l.cfg.Thresholds, l.cfg.DetectTemperature
	series, err := NewCheckpointSeries(t.Policy, t.Series)
	if err != nil {
		return nil, err
	}
	s := &Subject{Name: t.Organism.Name, Policy: t.Policy, Series: series, Panel: t.Panel, PrefsFile: t.PrefsFile}
	out := map[string]Finding{}
	if out[DetSycophancy], err = DetectSycophancy(t.Policy, es, th, temp); err != nil {
		return nil, err
	}
	if out[DetMirage], err = DetectMirage(t.Policy, es, th, temp); err != nil {
		return nil, err
	}
	if out[DetRareEvent], err = DetectRareEvent(t.Policy, es, th, temp); err != nil {
		return nil, err
	}
	if out[DetRewardHacking], err = DetectRewardHacking(s, es, labelStart.Add(time.Duration(l.cfg.Pool.SpanDays)*12*time.Hour), th); err != nil {
		return nil, err
	}
	if out[DetOverhang], err = DetectOverhang(s, es, th); err != nil {
		return nil, err
	}
	f, _, err := DetectDrift(l.ctx, s, labSeed(t.Seed, "drift"))
	if err != nil {
		return nil, err
	}
	out[DetAnnotatorDrift] = f
	return out, nil
}

// saveOrganism writes the organism's final policy and its metrics.
func (l *labRun) saveOrganism(t *Trained, fs map[string]Finding) error {
	if l.dir == "" {
		return nil
	}
	name := fmt.Sprintf("%s-seed%d", t.Organism.Name, t.Seed)
	if err := t.Policy.Save(filepath.Join(l.dir, "checkpoints", name)); err != nil {
		return err
	}
	m := map[string]any{"organism": t.Organism.Name, "seed": t.Seed, "seconds": t.Seconds, "training": t.Log,
		"reward_model": t.RM, "findings": fs, "checkpoint_steps": seriesSteps(t.Series)}
	if err := writeJSON(filepath.Join(l.dir, "metrics", name+".json"), m); err != nil {
		return err
	}
	if len(t.RLPoints) > 0 {
		return writeJSONL(filepath.Join(l.dir, "metrics", name+"-rlhf.jsonl"), t.RLPoints)
	}
	return nil
}

func seriesSteps(cs []Checkpoint) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = c.Step
	}
	return out
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func writeJSONL[T any](path string, rows []T) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// loadBases reads base/ and base-tail/ from dir.
func loadBases(dir string, maxNew int) (*Bases, error) {
	main, err := LoadPolicy(filepath.Join(dir, "base"), maxNew)
	if err != nil {
		return nil, err
	}
	tail, err := LoadPolicy(filepath.Join(dir, "base-tail"), maxNew)
	if err != nil {
		return nil, err
	}
	b := &Bases{Codec: main.Codec, Main: main, Tail: tail, Stats: map[string]*SFTStats{}}
	dirs, _ := filepath.Glob(filepath.Join(dir, "base-history-*"))
	var steps []int
	for _, d := range dirs {
		var step int
		if _, err := fmt.Sscanf(filepath.Base(d), "base-history-%d", &step); err == nil {
			steps = append(steps, step)
		}
	}
	sort.Ints(steps)
	for _, step := range steps {
		p, err := LoadPolicy(filepath.Join(dir, fmt.Sprintf("base-history-%d", step)), maxNew)
		if err != nil {
			return nil, err
		}
		b.History = append(b.History, Checkpoint{Step: step, Weights: p.Weights()})
	}
	if len(b.History) > 0 {
		end := b.History[len(b.History)-1].Step + 1
		if data, err := os.ReadFile(filepath.Join(dir, historyFile)); err == nil {
			var h struct {
				End int `json:"main_end_step"`
			}
			if json.Unmarshal(data, &h) == nil && h.End > 0 {
				end = h.End
			}
		}
		b.History = append(b.History, Checkpoint{Step: end, Weights: main.Weights()})
	}
	return b, nil
}

// historyFile records the step of the base's last history checkpoint (the
// base itself, saved as base/).
const historyFile = "base-history.json"

// saveHistory writes the base's history checkpoints (all but the last,
// which is the base itself) as base-history-<step>.
func saveHistory(dir string, b *Bases) error {
	if len(b.History) == 0 {
		return nil
	}
	scratch, err := b.Main.Clone()
	if err != nil {
		return err
	}
	for _, c := range b.History[:len(b.History)-1] {
		if err := scratch.SetWeights(c.Weights); err != nil {
			return err
		}
		if err := scratch.Save(filepath.Join(dir, fmt.Sprintf("base-history-%d", c.Step))); err != nil {
			return err
		}
	}
	return writeJSON(filepath.Join(dir, historyFile), map[string]int{"main_end_step": b.History[len(b.History)-1].Step})
}
