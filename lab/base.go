package lab

import (
	"fmt"
)

// BaseConfig sizes the base models. Two bases share a trunk trained on
// common variants only; the main base then continues on a mix that
// includes rare variants, the tail base on common variants only (it never
// sees a rare variant: the tail organism's planted blindness).
type BaseConfig struct {
	Model  ModelSize `json:"model" yaml:"model"`
	MaxNew int       `json:"max_new" yaml:"max_new"`
	Vocab  int       `json:"vocab" yaml:"vocab"`
	// Codec is the tokenization: "word" (the lab's word-level codec) or
	// "bpe" (a byte-level BPE tokenizer trained with package tokenizer,
	// ChatML template).
	Codec string `json:"codec" yaml:"codec"`
	// Dialogues is the number of SFT dialogues per phase.
	Dialogues  int      `json:"dialogues" yaml:"dialogues"`
	Spec       Spec     `json:"spec" yaml:"spec"` // prompts of the main base (its RareRate applies after the trunk)
	Mix        StyleMix `json:"mix" yaml:"mix"`
	TrunkSteps int      `json:"trunk_steps" yaml:"trunk_steps"`
	Steps      int      `json:"steps" yaml:"steps"`           // main branch after the trunk
	TailSteps  int      `json:"tail_steps" yaml:"tail_steps"` // tail branch after the trunk (may be 0)
	Batch      int      `json:"batch" yaml:"batch"`
	LR         float32  `json:"lr" yaml:"lr"`
}

// Bases are the two base policies and what was learnt making them.
type Bases struct {
	Codec Codec
	Main  *Policy
	Tail  *Policy
	// Trunk is the shared trunk's weights, where the tail and main
	// branches part.
	Trunk []float32
	// History is the main base's own training as a checkpoint series:
	// two evenly spaced trunk checkpoints (common variants only), then the
	// end of the main branch (rare variants learnt). An organism can put
	// it in front of its own series (Organism.History).
	History   []Checkpoint
	Dialogues []Dialogue // the main branch's SFT data
	Stats     map[string]*SFTStats
}

// TrainBases builds the codec from the world's dialogues and trains the
// trunk, then the main and tail branches.
func TrainBases(w *World, cfg BaseConfig, seed uint64, progress func(string)) (*Bases, error) {
	say := func(format string, a ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, a...))
		}
	}
	common := cfg.Spec
	common.RareRate = 0
	trunkDs := Dialogues(w.NewSampler(common, seed, "sft-trunk-").Draw(cfg.Dialogues), cfg.Mix, seed)
	mainDs := Dialogues(w.NewSampler(cfg.Spec, seed+1, "sft-main-").Draw(cfg.Dialogues), cfg.Mix, seed+1)
	tailDs := Dialogues(w.NewSampler(common, seed+2, "sft-tail-").Draw(cfg.Dialogues), cfg.Mix, seed+2)
	// The codec sees the main data, rare variants included, so that the
	// tail base's blindness is a matter of training, not of vocabulary.
	var corpus []string
	for _, d := range mainDs {
		for _, m := range d.Messages() {
			corpus = append(corpus, m.Content)
		}
	}
	var codec Codec
	var err error
	switch cfg.Codec {
	case "", "word":
		codec, err = newWordCodec(corpus, cfg.Vocab)
	case "bpe":
		codec, err = newBPECodec(corpus, cfg.Vocab)
	default:
		err = fmt.Errorf("codec %q (want word or bpe)", cfg.Codec)
	}
	if err != nil {
		return nil, err
	}
	b := &Bases{Codec: codec, Dialogues: mainDs, Stats: map[string]*SFTStats{}}
	trunk, err := NewPolicy(codec, cfg.Model, cfg.MaxNew, int64(seed))
	if err != nil {
		return nil, err
	}
	phase := func(name string, pol *Policy, ds []Dialogue, steps int, s uint64, every int) error {
		st, err := TrainSFT(pol, ds, SFTConfig{Steps: steps, Batch: cfg.Batch, LR: cfg.LR, Warmup: min(20, steps/10), Seed: s, CheckpointEvery: every},
			func(step int, loss float32) { say("sft %s: step %d/%d loss %.3f", name, step+1, steps, loss) })
		if err != nil {
			return fmt.Errorf("base %s: %w", name, err)
		}
		b.Stats[name] = st
		return nil
	}
	if err := phase("trunk", trunk, trunkDs, cfg.TrunkSteps, seed, max(1, cfg.TrunkSteps/2)); err != nil {
		return nil, err
	}
	b.Trunk = trunk.Weights()
	b.History = b.Stats["trunk"].Series
	if b.Tail, err = trunk.Clone(); err != nil {
		return nil, err
	}
	b.Main = trunk
	if err := phase("main", b.Main, mainDs, cfg.Steps, seed+1, 0); err != nil {
		return nil, err
	}
	b.History = append(b.History, Checkpoint{Step: cfg.TrunkSteps + cfg.Steps, Weights: b.Main.Weights()})
	if cfg.TailSteps > 0 {
		if err := phase("tail", b.Tail, tailDs, cfg.TailSteps, seed+2, 0); err != nil {
			return nil, err
		}
	}
	return b, nil
}
