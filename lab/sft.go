package lab

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/train"
)

// ModelSize sizes a lab model: a tiny Llama-family transformer.
type ModelSize struct {
	Layers int `json:"layers" yaml:"layers"`
	Dim    int `json:"dim" yaml:"dim"`
	Heads  int `json:"heads" yaml:"heads"`
	Hidden int `json:"hidden" yaml:"hidden"`
	MaxSeq int `json:"max_seq" yaml:"max_seq"`
}

// NewPolicy returns a randomly initialised policy of the given size over
// codec's vocabulary.
func NewPolicy(codec Codec, size ModelSize, maxNew int, seed int64) (*Policy, error) {
	cfg := model.LlamaConfig(codec.VocabSize(), size.MaxSeq, size.Layers, size.Heads, size.Heads, size.Dim, size.Hidden)
	m, err := model.New(cfg, seed)
	if err != nil {
		return nil, fmt.Errorf("lab model: %w", err)
	}
	return &Policy{Model: m, Codec: codec, MaxNew: maxNew}, nil
}

// SFTConfig configures supervised fine-tuning on dialogues (loss on
// assistant tokens only).
type SFTConfig struct {
	Steps  int     `json:"steps" yaml:"steps"`
	Batch  int     `json:"batch" yaml:"batch"`
	LR     float32 `json:"lr" yaml:"lr"`
	Warmup int     `json:"warmup" yaml:"warmup"`
	Seed   uint64  `json:"seed" yaml:"seed"`
	// CheckpointEvery, when positive, snapshots the weights every that
	// many steps and after the last (SFTStats.Series).
	CheckpointEvery int `json:"checkpoint_every,omitempty" yaml:"checkpoint_every"`
	// Beta2 is AdamW's second-moment decay (0: 0.95, which suits short
	// runs of small models better than PyTorch's 0.999).
	Beta2 float32 `json:"beta2,omitempty" yaml:"beta2"`
}

// SFTStats summarises a fine-tuning run.
type SFTStats struct {
	Steps     int       `json:"steps"`
	Examples  int       `json:"examples"`
	SeqLen    int       `json:"seq_len"`
	FirstLoss float32   `json:"first_loss"`
	FinalLoss float32   `json:"final_loss"` // mean of the last 10% of steps
	Losses    []float32 `json:"-"`
	Seconds   float64   `json:"seconds"`
	// Series holds the snapshots CheckpointEvery asked for (steps
	// counted from 1 within this run).
	Series []Checkpoint `json:"-"`
}

// encodedChat is one tokenized conversation with its assistant mask.
type encodedChat struct {
	ids  []int32
	mask []bool
}

func encodeDialogues(c Codec, ds []Dialogue, maxSeq int) ([]encodedChat, int, error) {
	out := make([]encodedChat, len(ds))
	T := 0
	for i, d := range ds {
		ids, mask, err := c.EncodeChat(d.Messages(), false)
		if err != nil {
			return nil, 0, fmt.Errorf("dialogue %s: %w", d.Prompt.ID, err)
		}
		if len(ids) > maxSeq {
			return nil, 0, fmt.Errorf("dialogue %s: %d tokens exceed max_seq_len %d", d.Prompt.ID, len(ids), maxSeq)
		}
		out[i] = encodedChat{ids, mask}
		T = max(T, len(ids))
	}
	return out, T, nil
}

// fillLMBatch packs examples into next-token tokens, targets and a loss
// mask over assistant tokens ([B·T] each; short rows padded, unmasked).
func fillLMBatch(ex []encodedChat, T int, tokens, targets []int32, mask []float32) {
	clear(tokens)
	clear(targets)
	clear(mask)
	for b, e := range ex {
		row := b * T
		copy(tokens[row:row+T], e.ids)
		for t := 0; t+1 < len(e.ids); t++ {
			targets[row+t] = e.ids[t+1]
			if e.mask[t+1] {
				mask[row+t] = 1
			}
		}
	}
}

// TrainSFT fine-tunes pol on dialogues with AdamW and a warmup+cosine
// schedule, the loss on assistant tokens only. progress, when set, is
// called every few steps.
func TrainSFT(pol *Policy, ds []Dialogue, cfg SFTConfig, progress func(step int, loss float32)) (*SFTStats, error) {
	if len(ds) == 0 || cfg.Steps <= 0 || cfg.Batch <= 0 {
		return nil, fmt.Errorf("sft: need dialogues, steps and batch (got %d, %d, %d)", len(ds), cfg.Steps, cfg.Batch)
	}
	start := time.Now()
	ex, T, err := encodeDialogues(pol.Codec, ds, pol.Model.Config.MaxSeqLen)
	if err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}
	acfg := train.DefaultAdamWConfig()
	acfg.LR = cfg.LR
	acfg.Beta2 = cfg.Beta2
	if acfg.Beta2 == 0 {
		acfg.Beta2 = 0.95
	}
	tr := train.NewLMTrainer(pol.Model, acfg)
	tr.MaxGradNorm = 1
	tr.LR = func(step int) float32 { return train.CosineSchedule(step, cfg.Warmup, cfg.Steps, cfg.LR, cfg.LR/10) }
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5f7))
	B := min(cfg.Batch, len(ex))
	tokens, targets, mask := make([]int32, B*T), make([]int32, B*T), make([]float32, B*T)
	st := &SFTStats{Steps: cfg.Steps, Examples: len(ex), SeqLen: T}
	var batches [][]encodedChat
	for step := 0; step < cfg.Steps; step++ {
		if len(batches) == 0 {
			batches = shuffledBatches(ex, B, rng)
		}
		batch := batches[0]
		batches = batches[1:]
		bt := 0
		for _, e := range batch {
			bt = max(bt, len(e.ids))
		}
		n := len(batch) * bt
		fillLMBatch(batch, bt, tokens[:n], targets[:n], mask[:n])
		s, err := tr.TrainStep(tokens[:n], targets[:n], mask[:n], len(batch), bt)
		if err != nil {
			return nil, fmt.Errorf("sft: %w", err)
		}
		st.Losses = append(st.Losses, s.Loss)
		if cfg.CheckpointEvery > 0 && ((step+1)%cfg.CheckpointEvery == 0 || step == cfg.Steps-1) {
			st.Series = append(st.Series, Checkpoint{Step: step + 1, Weights: pol.Weights()})
		}
		if progress != nil && (step%25 == 0 || step == cfg.Steps-1) {
			progress(step, s.Loss)
		}
	}
	st.FirstLoss = st.Losses[0]
	tail := st.Losses[len(st.Losses)-max(1, len(st.Losses)/10):]
	for _, l := range tail {
		st.FinalLoss += l / float32(len(tail))
	}
	st.Seconds = time.Since(start).Seconds()
	return st, nil
}

// shuffledBatches deals examples into batches of B in a fresh random order
// (the last batch may be smaller). Batches mix one- and three-turn
// dialogues: batches bucketed by length trained markedly worse here (0.50
// against 0.75 greedy accuracy after 800 steps), so the speed of bucketing
// is not worth it.
func shuffledBatches(ex []encodedChat, B int, rng *rand.Rand) [][]encodedChat {
	var out [][]encodedChat
	order := rng.Perm(len(ex))
	for lo := 0; lo < len(order); lo += B {
		hi := min(lo+B, len(order))
		b := make([]encodedChat, 0, hi-lo)
		for _, i := range order[lo:hi] {
			b = append(b, ex[i])
		}
		out = append(out, b)
	}
	return out
}
