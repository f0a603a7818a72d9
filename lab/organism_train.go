// The exported way to train a few organisms outside a full lab run, for
// tools that look inside them (alignlab inspect mirage): the same bases,
// pools, labels and training as Run, so an organism trained here is the one
// Run trains for the same configuration and seed.

package lab

import (
	"context"
	"fmt"
	"os"
	"time"
)

// OrganismSeed is the seed Run gives its i-th organism seed (the N in a
// run's checkpoints/<organism>-seed<N>).
func OrganismSeed(cfg Config, i int) uint64 { return cfg.Seed*1000 + uint64(i) }

// SeedEvalSets returns the detectors' prompt sets of organism seed seed,
// the ones Run measures that seed's organisms on.
func SeedEvalSets(cfg Config, seed uint64) *EvalSets {
	return NewEvalSets(NewWorld(), cfg.EvalItems, labSeed(seed, "eval"))
}

// TrainOrganisms trains the named organisms (from cfg.Organisms, or the
// defaults when it is empty) on organism seed seed (see OrganismSeed),
// starting from cfg's bases, and returns them in the order named with the
// seed's evaluation sets. Their preference data sets are written to a
// temporary directory and removed, so PrefsFile is empty (Data holds the
// labels). progress may be nil.
func TrainOrganisms(ctx context.Context, cfg Config, names []string, seed uint64, progress func(string)) ([]*Trained, *EvalSets, error) {
	orgs := cfg.Organisms
	if len(orgs) == 0 {
		var err error
		if orgs, err = DefaultOrganisms(); err != nil {
			return nil, nil, err
		}
	}
	var picked []*Organism
	for _, n := range names {
		var o *Organism
		for _, c := range orgs {
			if c.Name == n {
				o = c
			}
		}
		if o == nil {
			return nil, nil, fmt.Errorf("lab: no organism named %q", n)
		}
		if o.Training.History {
			return nil, nil, fmt.Errorf("lab: organism %s needs the base's training history; train it with Run", n)
		}
		picked = append(picked, o)
	}
	tmp, err := os.MkdirTemp("", "alignlab-organisms-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	l := &labRun{ctx: ctx, cfg: cfg, world: NewWorld(), dataDir: tmp, progress: progress, start: time.Now()}
	switch cfg.BaseSource {
	case BaseEmbedded:
		l.bases, err = embeddedBases(cfg.Base.MaxNew)
	case BaseTrain, "":
		l.bases, err = TrainBases(l.world, cfg.Base, cfg.Seed, l.sub("base"))
	default:
		err = fmt.Errorf("lab: base source %q (want %s or %s)", cfg.BaseSource, BaseTrain, BaseEmbedded)
	}
	if err != nil {
		return nil, nil, err
	}
	sr := &seedRun{lab: l, seed: seed, pools: map[string]*Pool{}}
	out := make([]*Trained, len(picked))
	for i, o := range picked {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if out[i], err = sr.train(o); err != nil {
			return nil, nil, err
		}
		out[i].PrefsFile = ""
		l.say("seed %d %s: trained in %.1fs", seed, o.Name, out[i].Seconds)
	}
	return out, NewEvalSets(l.world, cfg.EvalItems, labSeed(seed, "eval")), nil
}
