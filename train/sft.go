// Supervised fine-tuning as TRL's SFTTrainer does it: next-token
// cross-entropy over the tokens an example marks (assistant turns, or a
// completion), sequences right-padded within a micro-batch, the loss the
// mean over every marked token of the optimizer step's batch (gradient
// accumulation included), and a held-out eval_loss.

package train

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/alignlab/alignlab/model"
)

// SFTConfig holds SFT's options under TRL's SFTConfig names.
type SFTConfig struct {
	TrainingArgs
	// MaxLength truncates longer examples (TRL's max_length).
	MaxLength int `json:"max_length"`
	// AssistantOnlyLoss restricts the loss of conversations to assistant
	// tokens (TRL's assistant_only_loss).
	AssistantOnlyLoss bool `json:"assistant_only_loss"`
}

// DefaultSFTConfig returns TRL's SFTConfig defaults (learning rate 2e-5,
// max_length 1024) with the loss on assistant tokens only.
func DefaultSFTConfig() SFTConfig {
	a := DefaultTrainingArgs()
	a.LearningRate = 2e-5
	return SFTConfig{TrainingArgs: a, MaxLength: 1024, AssistantOnlyLoss: true}
}

// SFTOptions are the SFT trainer's inputs beyond its config.
type SFTOptions struct {
	// LoRA, when not nil, trains these adapters instead of all weights.
	LoRA *LoRA
}

// SFTTrainer fine-tunes a model on examples.
type SFTTrainer struct {
	Config SFTConfig
	Model  *model.Model

	train, eval []SFTExample
	weights     trainable
	sampler     *Sampler
	step, total int
	numTokens   int64 // input tokens seen (TRL's num_tokens)
}

// NewSFTTrainer returns a trainer of m on train, evaluated on eval.
// Examples must fit the model (len <= max_seq_len) and have a loss token.
func NewSFTTrainer(m *model.Model, train, eval []SFTExample, cfg SFTConfig, o SFTOptions) (*SFTTrainer, error) {
	if err := cfg.TrainingArgs.Validate(); err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}
	if len(train) == 0 {
		return nil, errors.New("sft: no training examples")
	}
	for _, set := range [][]SFTExample{train, eval} {
		for i, e := range set {
			if len(e.Tokens) > m.Config.MaxSeqLen || len(e.Loss) != len(e.Tokens) || e.LossTokens() == 0 {
				return nil, fmt.Errorf("sft: example %d (%s) has %d tokens (model max %d) and %d loss tokens; filter or truncate first", i, e.Source, len(e.Tokens), m.Config.MaxSeqLen, e.LossTokens())
			}
		}
	}
	t := &SFTTrainer{Config: cfg, Model: m, train: train, eval: eval}
	if o.LoRA != nil {
		if o.LoRA.Model != m {
			return nil, errors.New("sft: the LoRA adapters belong to another model")
		}
		t.weights = newLoRAWeights(o.LoRA, cfg.TrainingArgs)
	} else {
		t.weights = newFullWeights(m, cfg.TrainingArgs)
	}
	t.sampler = NewSampler(len(train), cfg.globalBatch(), cfg.Seed)
	t.total = cfg.totalSteps(len(train))
	return t, nil
}

// Step returns the number of optimizer steps taken.
func (t *SFTTrainer) Step() int { return t.step }

// NumSteps returns the run's total number of steps.
func (t *SFTTrainer) NumSteps() int { return t.total }

// sftBatch lays examples out as right-padded rows with next-token targets
// and loss weights w (weight 0 on padding and unmarked tokens).
func sftBatch(exs []SFTExample, w float32) (tokens, targets []int32, weights []float32, T int) {
	T = 1
	for _, e := range exs {
		T = max(T, len(e.Tokens))
	}
	n := len(exs) * T
	tokens, targets, weights = make([]int32, n), make([]int32, n), make([]float32, n)
	for b, e := range exs {
		row := b * T
		copy(tokens[row:], e.Tokens)
		for i := 0; i+1 < len(e.Tokens); i++ {
			targets[row+i] = e.Tokens[i+1]
			if e.Loss[i+1] {
				weights[row+i] = w
			}
		}
	}
	return tokens, targets, weights, T
}

func lossTokens(exs []SFTExample) int {
	n := 0
	for _, e := range exs {
		n += e.LossTokens()
	}
	return n
}

// TrainStep takes one optimizer step on the next batch.
func (t *SFTTrainer) TrainStep() (Metrics, error) {
	if t.step >= t.total {
		return nil, fmt.Errorf("sft: all %d steps are done", t.total)
	}
	start := time.Now()
	idx, _ := t.sampler.Next()
	exs := make([]SFTExample, len(idx))
	inputTokens := 0
	for k, i := range idx {
		exs[k] = t.train[i]
		inputTokens += len(exs[k].Tokens)
	}
	// Each marked token weighs 1/N, N the batch's marked tokens: the mean
	// over the whole step however it is split into micro-batches.
	w := float32(1 / float64(lossTokens(exs)))
	t.Model.ZeroGrad()
	var loss float64
	micro := t.Config.PerDeviceTrainBatchSize
	for lo := 0; lo < len(exs); lo += micro {
		part := exs[lo:min(lo+micro, len(exs))]
		tokens, targets, weights, T := sftBatch(part, w)
		l, err := t.Model.WeightedLoss(tokens, targets, weights, len(part), T)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", t.step, err)
		}
		loss += float64(l)
		if nonFinite(l) != "" {
			break
		}
		if err := t.Model.Backward(); err != nil {
			return nil, fmt.Errorf("step %d: %w", t.step, err)
		}
	}
	if bad := nonFinite(float32(loss)); bad != "" {
		return nil, fmt.Errorf("step %d: loss is %s; lower the learning rate or check the data", t.step, bad)
	}
	lr := t.Config.LRAt(t.step, t.total)
	norm := t.weights.update(lr, t.Config.MaxGradNorm)
	if bad := nonFinite(norm); bad != "" {
		return nil, fmt.Errorf("step %d: gradient norm is %s; lower the learning rate or check the data", t.step, bad)
	}
	t.step++
	t.numTokens += int64(inputTokens)
	return Metrics{
		"loss": loss, "grad_norm": float64(norm), "learning_rate": float64(lr),
		"epoch": t.sampler.Epoch(), "num_tokens": float64(t.numTokens),
		// Wall-clock speed: the one figure a resumed run does not repeat.
		"tokens_per_second": float64(inputTokens) / time.Since(start).Seconds(),
	}, nil
}

// Evaluate returns the held-out loss: the mean cross-entropy over every
// marked token of the eval set (TRL logs it as eval_loss).
func (t *SFTTrainer) Evaluate() (Metrics, error) {
	if len(t.eval) == 0 {
		return Metrics{}, nil
	}
	loss, err := SFTLoss(t.Model, t.eval, t.Config.evalBatch())
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return Metrics{"loss": loss}, nil
}

// SFTLoss is m's mean cross-entropy over the marked tokens of exs, run in
// batches of batch examples.
func SFTLoss(m *model.Model, exs []SFTExample, batch int) (float64, error) {
	w := float32(1 / float64(max(lossTokens(exs), 1)))
	var loss float64
	for lo := 0; lo < len(exs); lo += max(batch, 1) {
		part := exs[lo:min(lo+max(batch, 1), len(exs))]
		tokens, targets, weights, T := sftBatch(part, w)
		l, err := m.WeightedLoss(tokens, targets, weights, len(part), T)
		if err != nil {
			return 0, err
		}
		loss += float64(l)
	}
	return loss, nil
}

// sftState is the trainer's own part of a checkpoint.
type sftState struct {
	Step      int          `json:"step"`
	Total     int          `json:"total"`
	NumTokens int64        `json:"num_tokens"`
	Sampler   SamplerState `json:"sampler"`
}

// SaveState writes the weights (or adapters), the optimizer, the step and
// the data order into dir.
func (t *SFTTrainer) SaveState(dir string) error {
	if err := t.weights.saveState(dir); err != nil {
		return err
	}
	return WriteJSON(filepath.Join(dir, "trainer_state.json"), sftState{Step: t.step, Total: t.total, NumTokens: t.numTokens, Sampler: t.sampler.State()})
}

// LoadState restores what SaveState wrote.
func (t *SFTTrainer) LoadState(dir string) error {
	var st sftState
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
	t.step, t.numTokens = st.Step, st.NumTokens
	return nil
}
