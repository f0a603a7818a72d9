// The DPO-family trainer: one optimizer step over a batch of preference
// pairs, chosen and rejected sequences in one log-prob pass per
// micro-batch, the per-pair loss of dpo_loss.go (plus the NLL term of RPO or
// ORPO) turned into per-token coefficients for the engine's backward, and
// TRL's metrics. Reference log-probs are computed before training (and
// cached), never during it.

package train

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/alignlab/alignlab/model"
)

// DPOConfig holds the DPO family's options under TRL's DPOConfig names
// (CPOConfig's for simpo, ORPOConfig's for orpo).
type DPOConfig struct {
	TrainingArgs
	PairLossConfig
	// RPOAlpha weights the NLL of the chosen completions added to the loss
	// (RPO, Pang et al.); 0 is TRL's None.
	RPOAlpha float64 `json:"rpo_alpha"`
	// MaxLength is the longest prompt+completion kept; longer pairs are
	// skipped and reported.
	MaxLength int `json:"max_length"`
}

// DefaultDPOConfig returns TRL's DPOConfig defaults: sigmoid loss, beta
// 0.1, learning rate 1e-6, max_length 1024, simpo_gamma 0.5, with
// transformers' other defaults.
func DefaultDPOConfig() DPOConfig {
	a := DefaultTrainingArgs()
	a.LearningRate = 1e-6
	return DPOConfig{
		TrainingArgs:   a,
		PairLossConfig: PairLossConfig{LossType: LossSigmoid, Beta: 0.1, SimPOGamma: 0.5},
		MaxLength:      1024,
	}
}

// Validate reports the first unusable option.
func (c DPOConfig) Validate() error {
	if err := c.TrainingArgs.Validate(); err != nil {
		return err
	}
	if err := c.PairLossConfig.Validate(); err != nil {
		return err
	}
	if c.RPOAlpha < 0 {
		return fmt.Errorf("rpo_alpha must be >= 0, got %g", c.RPOAlpha)
	}
	return nil
}

// nllScope is the reach of the NLL term, and nllWeight its weight.
func (c DPOConfig) nllScope() (nllScope, float64) {
	switch {
	case c.LossType == LossORPO:
		// ORPO's loss is NLL − mean(β·log σ(log odds)); RPOAlpha adds to it.
		return nllSequence, 1 + c.RPOAlpha
	case c.RPOAlpha > 0:
		return nllCompletion, c.RPOAlpha
	}
	return nllNone, 0
}

// DPOOptions are the DPO trainer's inputs beyond its config.
type DPOOptions struct {
	// RefCacheDir holds cached reference log-probs ("" = no cache).
	RefCacheDir string
	// Ref is the reference model; nil means the policy as given, before
	// any step (the usual case: the reference is the starting point).
	Ref *model.Model
	// LoRA, when not nil, trains these adapters of the policy instead of
	// all its weights.
	LoRA *LoRA
	// Log, when not nil, receives one-line notes (reference computation,
	// cache hits).
	Log io.Writer
}

// DPOTrainer trains a policy on preference pairs with a DPO-family loss.
type DPOTrainer struct {
	Config DPOConfig
	Policy *model.Model

	train, eval       []PrefPair
	trainRef, evalRef RefLogps
	weights           trainable
	sampler           *Sampler
	step, total       int
}

// NewDPOTrainer returns a trainer of policy on the train pairs, evaluated
// on eval (may be empty). Unless the loss is reference-free it first
// computes (or reads from the cache) the reference log-probs of every pair.
// Pairs must already be filtered (FilterPrefPairs or ReadPrefPairs).
func NewDPOTrainer(policy *model.Model, train, eval []PrefPair, cfg DPOConfig, o DPOOptions) (*DPOTrainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	if len(train) == 0 {
		return nil, errors.New("dpo: no training pairs")
	}
	limit := policy.Config.MaxSeqLen
	if cfg.MaxLength > 0 {
		limit = min(limit, cfg.MaxLength)
	}
	for _, set := range [][]PrefPair{train, eval} {
		if _, rep := FilterPrefPairs(set, limit); rep.SkippedTotal() > 0 {
			return nil, fmt.Errorf("dpo: %d unusable pairs (first: %s); filter them first", rep.SkippedTotal(), rep.Problems[0])
		}
	}
	t := &DPOTrainer{Config: cfg, Policy: policy, train: train, eval: eval}
	if !cfg.ReferenceFree() {
		ref := o.Ref
		if ref == nil {
			ref = policy
		}
		var err error
		if t.trainRef, err = t.refLogps(ref, train, "train", o); err != nil {
			return nil, err
		}
		if t.evalRef, err = t.refLogps(ref, eval, "eval", o); err != nil {
			return nil, err
		}
	}
	if o.LoRA != nil {
		if o.LoRA.Model != policy {
			return nil, errors.New("dpo: the LoRA adapters belong to another model")
		}
		t.weights = newLoRAWeights(o.LoRA, cfg.TrainingArgs)
	} else {
		t.weights = newFullWeights(policy, cfg.TrainingArgs)
	}
	t.sampler = NewSampler(len(train), cfg.globalBatch(), cfg.Seed)
	t.total = cfg.totalSteps(len(train))
	return t, nil
}

// refLogps computes (or reads) one set's reference log-probs.
func (t *DPOTrainer) refLogps(ref *model.Model, pairs []PrefPair, name string, o DPOOptions) (RefLogps, error) {
	if len(pairs) == 0 {
		return RefLogps{}, nil
	}
	start := time.Now()
	lp, hit, err := CachedRefLogps(o.RefCacheDir, ref, pairs, t.Config.evalBatch())
	if err != nil {
		return lp, fmt.Errorf("dpo: %w", err)
	}
	if o.Log != nil {
		if hit {
			fmt.Fprintf(o.Log, "reference log-probs of %d %s pairs read from the cache in %s\n", len(pairs), name, o.RefCacheDir)
		} else {
			fmt.Fprintf(o.Log, "reference log-probs of %d %s pairs computed in %.1fs\n", len(pairs), name, time.Since(start).Seconds())
		}
	}
	return lp, nil
}

// Step returns the number of optimizer steps taken.
func (t *DPOTrainer) Step() int { return t.step }

// NumSteps returns the run's total number of steps.
func (t *DPOTrainer) NumSteps() int { return t.total }

// pairStats accumulates the logged figures over pairs.
type pairStats struct {
	pairs                                  int
	loss, rc, rr, acc, margin, lpc, lpr    float64
	logOdds, logSigOdds, nllSum, nllTokens float64
}

func (s *pairStats) add(r PairResult) {
	s.pairs++
	s.loss += r.Loss
	s.rc += r.RewardChosen
	s.rr += r.RewardRejected
	if r.RewardChosen > r.RewardRejected {
		s.acc++
	}
	s.margin += r.RewardChosen - r.RewardRejected
	s.lpc += r.LogpChosen
	s.lpr += r.LogpRejected
	s.logOdds += r.LogOdds
	s.logSigOdds += r.LogSigmoidOdds
}

// metrics returns TRL's figures; the loss is the mean pair loss plus
// nllWeight times the token-mean NLL.
func (s *pairStats) metrics(cfg DPOConfig) Metrics {
	n := float64(max(s.pairs, 1))
	m := Metrics{
		"rewards/chosen": s.rc / n, "rewards/rejected": s.rr / n,
		"rewards/accuracies": s.acc / n, "rewards/margins": s.margin / n,
		"logps/chosen": s.lpc / n, "logps/rejected": s.lpr / n,
	}
	loss := s.loss / n
	if scope, w := cfg.nllScope(); scope != nllNone {
		nll := s.nllSum / max(s.nllTokens, 1)
		m["nll_loss"] = nll
		loss += w * nll
	}
	if cfg.LossType == LossORPO {
		m["log_odds_chosen"] = s.logOdds / n
		m["log_odds_ratio"] = s.logSigOdds / n
	}
	m["loss"] = loss
	return m
}

// pass runs pairs through the policy and returns each pair's result. When
// backward is set it also adds to the policy's gradient the gradient of
// (Σ pair losses)/batchPairs + nllWeight·(Σ NLL)/nllTokens.
func (t *DPOTrainer) pass(pairs []PrefPair, ref RefLogps, refOff int, st *pairStats, backward bool, batchPairs int, nllTok float64) error {
	scope, w := t.Config.nllScope()
	b := layoutPairs(pairs, scope)
	logp, err := t.Policy.TokenLogProbs(b.tokens, b.want, 2*b.n, b.T, nil)
	if err != nil {
		return err
	}
	c, r, nc, nr := b.sums(logp)
	coef := make([]float32, len(logp))
	for i := range pairs {
		// Sums are rounded to float32 like the cached reference's, so that
		// a policy equal to its reference scores exactly zero reward.
		in := PairLogps{Chosen: float64(float32(c[i])), Rejected: float64(float32(r[i])), ChosenLen: nc[i], RejectedLen: nr[i]}
		if !t.Config.ReferenceFree() {
			in.RefChosen, in.RefRejected = float64(ref.Chosen[refOff+i]), float64(ref.Rejected[refOff+i])
		}
		res := t.Config.PairLoss(in)
		st.add(res)
		dc, dr := float32(res.DChosen/float64(batchPairs)), float32(res.DRejected/float64(batchPairs))
		for k := range b.T {
			if j := i*b.T + k; b.comp[j] != 0 {
				coef[j] = dc
			}
			if j := (b.n+i)*b.T + k; b.comp[j] != 0 {
				coef[j] = dr
			}
		}
	}
	if scope != nllNone {
		for j, on := range b.nll {
			if on != 0 {
				st.nllSum -= float64(logp[j])
				st.nllTokens++
				coef[j] -= float32(w / nllTok)
			}
		}
	}
	if !backward {
		return nil
	}
	for _, x := range coef {
		if nonFinite(x) != "" {
			return errNonFiniteLoss
		}
	}
	return t.Policy.BackwardTokenLogProbs(coef)
}

var errNonFiniteLoss = errors.New("non-finite loss")

// TrainStep takes one optimizer step on the next batch of pairs.
func (t *DPOTrainer) TrainStep() (Metrics, error) {
	if t.step >= t.total {
		return nil, fmt.Errorf("dpo: all %d steps are done", t.total)
	}
	idx, _ := t.sampler.Next()
	pairs := make([]PrefPair, len(idx))
	ref := RefLogps{Chosen: make([]float32, len(idx)), Rejected: make([]float32, len(idx))}
	for k, i := range idx {
		pairs[k] = t.train[i]
		if !t.Config.ReferenceFree() {
			ref.Chosen[k], ref.Rejected[k] = t.trainRef.Chosen[i], t.trainRef.Rejected[i]
		}
	}
	scope, _ := t.Config.nllScope()
	nllTok := float64(max(nllTokens(pairs, scope), 1))
	t.Policy.ZeroGrad()
	var st pairStats
	micro := t.Config.PerDeviceTrainBatchSize
	for lo := 0; lo < len(pairs); lo += micro {
		hi := min(lo+micro, len(pairs))
		err := t.pass(pairs[lo:hi], ref, lo, &st, true, len(pairs), nllTok)
		if errors.Is(err, errNonFiniteLoss) {
			break // reported below from the loss itself
		}
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", t.step, err)
		}
	}
	m := st.metrics(t.Config)
	if bad := nonFinite(float32(m["loss"])); bad != "" || st.pairs < len(pairs) {
		if bad == "" {
			bad = "not finite"
		}
		return nil, fmt.Errorf("step %d: loss is %s; lower the learning rate or check the data", t.step, bad)
	}
	lr := t.Config.LRAt(t.step, t.total)
	norm := t.weights.update(lr, t.Config.MaxGradNorm)
	if bad := nonFinite(norm); bad != "" {
		return nil, fmt.Errorf("step %d: gradient norm is %s; lower the learning rate or check the data", t.step, bad)
	}
	t.step++
	m["grad_norm"] = float64(norm)
	m["learning_rate"] = float64(lr)
	m["epoch"] = t.sampler.Epoch()
	return m, nil
}

// Evaluate measures the held-out pairs (TRL logs these with "eval_").
func (t *DPOTrainer) Evaluate() (Metrics, error) {
	if len(t.eval) == 0 {
		return Metrics{}, nil
	}
	var st pairStats
	bs := t.Config.evalBatch()
	for lo := 0; lo < len(t.eval); lo += bs {
		hi := min(lo+bs, len(t.eval))
		if err := t.pass(t.eval[lo:hi], t.evalRef, lo, &st, false, 1, 1); err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
	}
	return st.metrics(t.Config), nil
}

// dpoState is the trainer's own part of a checkpoint.
type dpoState struct {
	Step    int          `json:"step"`
	Total   int          `json:"total"`
	Sampler SamplerState `json:"sampler"`
}

// SaveState writes the weights (or adapters), the optimizer, the step and
// the data order into dir.
func (t *DPOTrainer) SaveState(dir string) error {
	if err := t.weights.saveState(dir); err != nil {
		return err
	}
	return WriteJSON(filepath.Join(dir, "trainer_state.json"), dpoState{Step: t.step, Total: t.total, Sampler: t.sampler.State()})
}

// LoadState restores what SaveState wrote.
func (t *DPOTrainer) LoadState(dir string) error {
	var st dpoState
	if err := ReadJSON(filepath.Join(dir, "trainer_state.json"), &st); err != nil {
		return err
	}
	if st.Total != t.total {
		return fmt.Errorf("checkpoint is of a %d-step run, this one has %d steps (the data or the options changed)", st.Total, t.total)
	}
	if err := t.sampler.SetState(st.Sampler); err != nil {
		return err
	}
	if err := t.weights.loadState(dir); err != nil {
		return err
	}
	t.step = st.Step
	return nil
}
