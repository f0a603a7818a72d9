package lab

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/alignlab/alignlab/internal/procstat"
	"github.com/alignlab/alignlab/train"
)

// A Bradley-Terry reward model for RLHF. Its scalar head is read off the
// language-model head at the end of the reply: r(x, y) = log p(good | x, y)
// - log p(bad | x, y) for two verdict tokens, which is a linear function of
// the final hidden state (the difference of two rows of the head), so it is
// an ordinary reward head initialised from the policy, trained with the
// engine's sequence log-prob backward.

// Verdict tokens (byte ids that never follow an end of turn in the lab's
// dialogues).
const (
	verdictGood int32 = '+'
	verdictBad  int32 = '-'
)

// RewardModel scores replies.
type RewardModel struct {
	Policy *Policy
}

// NewRewardModel starts a reward model from a copy of init.
func NewRewardModel(init *Policy) (*RewardModel, error) {
	p, err := init.Clone()
	if err != nil {
		return nil, err
	}
	return &RewardModel{Policy: p}, nil
}

// verdictSeqs returns the reply followed by each verdict token, with only
// the verdict marked.
func verdictSeqs(c Codec, p *Prompt, reply string) (good, bad encodedReply, err error) {
	r, err := encodeReply(c, p, reply)
	if err != nil {
		return good, bad, err
	}
	mk := func(v int32) encodedReply {
		ids := append(append([]int32(nil), r.ids...), v)
		t := make([]bool, len(ids))
		t[len(ids)-1] = true
		return encodedReply{ids: ids, target: t}
	}
	return mk(verdictGood), mk(verdictBad), nil
}

// Score returns r(x, y) for each prompt and reply.
func (rm *RewardModel) Score(ps []Prompt, replies []string) ([]float64, error) {
	seqs := make([]encodedReply, 0, 2*len(ps))
	for i := range ps {
		g, b, err := verdictSeqs(rm.Policy.Codec, &ps[i], replies[i])
		if err != nil {
			return nil, fmt.Errorf("reward model: %w", err)
		}
		seqs = append(seqs, g, b)
	}
	lp, err := seqLogProbs(rm.Policy, seqs, 2*rlMicroBatch)
	if err != nil {
		return nil, fmt.Errorf("reward model: %w", err)
	}
	out := make([]float64, len(ps))
	for i := range out {
		out[i] = float64(lp[2*i] - lp[2*i+1])
	}
	return out, nil
}

// RMConfig configures reward-model training.
type RMConfig struct {
	LR    float32 `json:"lr" yaml:"lr"`
	Steps int     `json:"steps" yaml:"steps"`
	Batch int     `json:"batch" yaml:"batch"`
	Seed  uint64  `json:"seed" yaml:"seed"`
}

// TrainRewardModel fits rm to the comparisons with the Bradley-Terry loss
// -log σ(r(x, y_w) - r(x, y_l)).
func TrainRewardModel(rm *RewardModel, ex []Example, cfg RMConfig, progress func(string)) (*TrainLog, error) {
	if len(ex) == 0 || cfg.Steps <= 0 || cfg.Batch <= 0 {
		return nil, fmt.Errorf("reward model: need examples, steps and batch (got %d, %d, %d)", len(ex), cfg.Steps, cfg.Batch)
	}
	start, cpu := time.Now(), procstat.CPUTime()
	mem := startHeapWatch()
	type quad struct{ cg, cb, rg, rb encodedReply }
	qs := make([]quad, len(ex))
	for i, e := range ex {
		var q quad
		var err error
		if q.cg, q.cb, err = verdictSeqs(rm.Policy.Codec, e.Prompt, e.Chosen); err != nil {
			return nil, fmt.Errorf("reward model: %w", err)
		}
		if q.rg, q.rb, err = verdictSeqs(rm.Policy.Codec, e.Prompt, e.Rejected); err != nil {
			return nil, fmt.Errorf("reward model: %w", err)
		}
		qs[i] = q
	}
	m := rm.Policy.Model
	acfg := train.DefaultAdamWConfig()
	acfg.LR, acfg.Beta2, acfg.WeightDecay = cfg.LR, 0.95, 0
	opt := train.NewAdamWForParams(m.Params, acfg)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x2e3))
	B := min(cfg.Batch, len(ex))
	seqs := make([]encodedReply, 4*B)
	coef := make([]float32, 4*B)
	order, pos := rng.Perm(len(ex)), 0
	var tokens []int32
	var mask []float32
	lg := &TrainLog{Method: "reward_model", Steps: cfg.Steps}
	var tailAcc, tailN float64
	for step := 0; step < cfg.Steps; step++ {
		for b := 0; b < B; b++ {
			if pos == len(order) {
				order, pos = rng.Perm(len(ex)), 0
			}
			q := qs[order[pos]]
			pos++
			seqs[4*b], seqs[4*b+1], seqs[4*b+2], seqs[4*b+3] = q.cg, q.cb, q.rg, q.rb
		}
		var T int
		tokens, mask, T = packReplies(seqs, tokens, mask)
		m.ZeroGrad()
		lp, err := m.SequenceLogProbs(tokens, mask, 4*B, T)
		if err != nil {
			return nil, fmt.Errorf("reward model step %d: %w", step, err)
		}
		var loss float64
		for b := 0; b < B; b++ {
			d := float64(lp[4*b]-lp[4*b+1]) - float64(lp[4*b+2]-lp[4*b+3])
			loss += softplus(-d) / float64(B)
			s := float32(sigmoid(-d) / float64(B)) // -∂loss/∂d
			coef[4*b], coef[4*b+1], coef[4*b+2], coef[4*b+3] = -s, s, s, -s
			if step >= cfg.Steps-max(1, cfg.Steps/10) {
				tailN++
				if d > 0 {
					tailAcc++
				}
			}
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("reward model step %d: loss is %v; lower the learning rate", step, loss)
		}
		if err := m.BackwardSequenceLogProbs(coef); err != nil {
			return nil, fmt.Errorf("reward model step %d: %w", step, err)
		}
		train.ClipGradNorm(m.Grads.Data, 1)
		opt.Step(m.Params.Data, m.Grads.Data, train.CosineSchedule(step, min(10, cfg.Steps/10), cfg.Steps, cfg.LR, cfg.LR/10))
		if step%10 == 1 {
			mem.sample()
		}
		lg.Losses = append(lg.Losses, float32(loss))
		if progress != nil && (step%20 == 0 || step == cfg.Steps-1) {
			progress(fmt.Sprintf("reward model step %d/%d loss %.3f", step+1, cfg.Steps, loss))
		}
	}
	lg.FinalLoss = lg.Losses[len(lg.Losses)-1]
	lg.Accuracies = float32(tailAcc / tailN)
	lg.Seconds = time.Since(start).Seconds()
	lg.CPUSeconds = (procstat.CPUTime() - cpu).Seconds()
	lg.PeakHeapMiB = mem.stop()
	return lg, nil
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// softplus is log(1+e^x), stable for large |x|.
func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}
