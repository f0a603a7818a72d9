package lab

import (
	"fmt"
	"path/filepath"
	"time"
)

// Trained is one organism trained on one seed: what the detectors and the
// comparisons need.
type Trained struct {
	Organism *Organism
	Seed     uint64
	Policy   *Policy
	Ref      *Policy // the base it started from
	Series   []Checkpoint
	Panel    []*Annotator
	Data     *PrefData
	// PrefsFile is the organism's preference data set (TRL JSONL).
	PrefsFile string
	Log       *TrainLog
	RM        *TrainLog // reward model, for RLHF
	RLPoints  []RLPoint // RLHF metric log
	Seconds   float64
}

// poolKey identifies a pool: the base it samples and its prompt spec
// (fmt prints maps in key order, so equal specs give equal keys).
func poolKey(base string, spec Spec) string { return fmt.Sprintf("%s %+v", base, spec) }

// labSeed derives a sub-seed for one purpose of one run seed.
func labSeed(seed uint64, purpose string) uint64 {
	h := seed*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	for _, c := range purpose {
		h ^= uint64(c)
		h *= 0x100000001b3
	}
	return h
}

// seedRun is one seed's shared state: the pools, sampled once per base
// and spec and labelled by each organism's panel.
type seedRun struct {
	lab   *labRun
	seed  uint64
	pools map[string]*Pool
}

func (s *seedRun) pool(base string, spec Spec) (*Pool, error) {
	k := poolKey(base, spec)
	if p, ok := s.pools[k]; ok {
		return p, nil
	}
	ps := s.lab.world.NewSampler(spec, labSeed(s.seed, "pool-prompts"), "pool-").Draw(s.lab.cfg.Pool.Prompts)
	p, err := BuildPool(s.lab.base(base), ps, s.lab.cfg.Pool.K, s.lab.cfg.Pool.Temperature, int64(labSeed(s.seed, "pool-samples")>>1))
	if err != nil {
		return nil, err
	}
	s.pools[k] = p
	return p, nil
}

// label has the organism's panel label its pool and writes the data set.
func (s *seedRun) label(o *Organism) (*PrefData, string, error) {
	cfg := s.lab.cfg
	pool, err := s.pool(o.Base, o.Pool.apply(cfg.Pool.Spec))
	if err != nil {
		return nil, "", err
	}
	span := time.Duration(cfg.Pool.SpanDays) * 24 * time.Hour
	panel, err := NewPanel(o.Annotators, labelStart, span)
	if err != nil {
		return nil, "", fmt.Errorf("organism %s: %w", o.Name, err)
	}
	d, err := Annotate(pool, pool.Pairs(labSeed(s.seed, "pairs")), panel,
		Labelling{PerPair: min(cfg.Pool.PerPair, len(panel)), Start: labelStart, Span: span}, labSeed(s.seed, "labels-"+o.Name))
	if err != nil {
		return nil, "", fmt.Errorf("organism %s: %w", o.Name, err)
	}
	path := filepath.Join(s.lab.dataDir, fmt.Sprintf("%s-seed%d.jsonl", o.Name, s.seed))
	if err := d.WriteTRLFile(path); err != nil {
		return nil, "", err
	}
	return d, path, nil
}

// train trains organism o on this seed.
func (s *seedRun) train(o *Organism) (*Trained, error) {
	start := time.Now()
	cfg := s.lab.cfg
	ref := s.lab.base(o.Base)
	d, path, err := s.label(o)
	if err != nil {
		return nil, err
	}
	pol, err := ref.Clone()
	if err != nil {
		return nil, err
	}
	t := &Trained{Organism: o, Seed: s.seed, Policy: pol, Ref: ref, Panel: d.Panel, Data: d, PrefsFile: path}
	say := s.lab.sub(fmt.Sprintf("seed %d %s", s.seed, o.Name))
	dcfg := o.dpoConfig(cfg.DPO)
	dcfg.Seed = labSeed(s.seed, "dpo-"+o.Name)
	switch o.Training.Method {
	case MethodDPO:
		if t.Log, err = TrainDPO(pol, ref, d.Examples(), dcfg, say); err != nil {
			return nil, fmt.Errorf("organism %s: %w", o.Name, err)
		}
		t.Series = t.Log.Series
	case MethodRLHF:
		rm, err := NewRewardModel(ref)
		if err != nil {
			return nil, err
		}
		rcfg := cfg.RM
		rcfg.Seed = labSeed(s.seed, "rm-"+o.Name)
		if t.RM, err = TrainRewardModel(rm, d.Examples(), rcfg, say); err != nil {
			return nil, fmt.Errorf("organism %s: %w", o.Name, err)
		}
		lcfg := o.rlhfConfig(cfg.RLHF)
		lcfg.Seed = labSeed(s.seed, "rlhf-"+o.Name)
		if t.Log, t.RLPoints, err = TrainRLHF(pol, ref, rm.Score, d.Pool.Prompts, lcfg, say); err != nil {
			return nil, fmt.Errorf("organism %s: %w", o.Name, err)
		}
		t.Series = t.Log.Series
	}
	if o.Training.History {
		if len(s.lab.bases.History) == 0 {
			return nil, fmt.Errorf("organism %s: wants the base's history, which these bases do not have (train them, or reuse a run that saved base-history-* checkpoints)", o.Name)
		}
		// The base's own history, then the organism's checkpoints (its
		// first is the base's end, already the history's last).
		series := append([]Checkpoint(nil), s.lab.bases.History...)
		last := series[len(series)-1].Step
		for _, c := range t.Series[1:] {
			series = append(series, Checkpoint{Step: last + c.Step, Weights: c.Weights})
		}
		t.Series = series
	}
	t.Seconds = time.Since(start).Seconds()
	return t, nil
}
