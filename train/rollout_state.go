// Checkpoint state (the run loop's Checkpointer) for the reward model, PPO,
// RLOO and GRPO trainers: the trained weights, the AdamW moments and the
// counters. Data and minibatch orders are drawn from (seed, position), and
// the frozen reference and reward model come from their own checkpoints,
// so nothing else is needed to continue exactly.

package train

import (
	"fmt"
	"path/filepath"

	"github.com/alignlab/alignlab/model"
)

// Files inside a trainer's checkpoint directory.
const (
	stateWeightsFile = "weights.safetensors"
	stateCountsFile  = "trainer_state.json"
)

// rlCounts are a trainer's counters.
type rlCounts struct {
	Step      int     `json:"step"`
	Episode   int     `json:"episode,omitempty"`
	PromptPos int     `json:"prompt_pos,omitempty"`
	KLCoef    float64 `json:"kl_coef,omitempty"`
}

// optState names an optimizer for its state file.
type optState struct {
	name string
	opt  *AdamW
}

// saveTrainerState writes weights, optimizers and counters into dir.
func saveTrainerState(dir string, weights []NamedBuffer, opts []optState, counts rlCounts) error {
	if err := SaveBuffers(filepath.Join(dir, stateWeightsFile), weights, map[string]string{"format": "alignlab"}); err != nil {
		return fmt.Errorf("save trainer state: %w", err)
	}
	for _, o := range opts {
		if err := SaveAdamW(dir, o.name, o.opt); err != nil {
			return fmt.Errorf("save trainer state: %w", err)
		}
	}
	return WriteJSON(filepath.Join(dir, stateCountsFile), counts)
}

// loadTrainerState restores what saveTrainerState wrote, into buffers of
// the same sizes.
func loadTrainerState(dir string, weights []NamedBuffer, opts []optState) (rlCounts, error) {
	var c rlCounts
	if _, err := LoadBuffers(filepath.Join(dir, stateWeightsFile), weights); err != nil {
		return c, fmt.Errorf("load trainer state: %w", err)
	}
	for _, o := range opts {
		if err := LoadAdamW(dir, o.name, o.opt); err != nil {
			return c, fmt.Errorf("load trainer state: %w", err)
		}
	}
	if err := ReadJSON(filepath.Join(dir, stateCountsFile), &c); err != nil {
		return c, fmt.Errorf("load trainer state: %w", err)
	}
	return c, nil
}

func scalarBuffers(prefix string, s *ScalarModel) []NamedBuffer {
	return []NamedBuffer{{prefix, s.Model.Params.Data}, {prefix + ".score", s.Head}}
}

func modelBuffer(name string, m *model.Model) NamedBuffer { return NamedBuffer{name, m.Params.Data} }

// SaveState writes the reward model's weights, its optimizers and the step.
func (t *RewardTrainer) SaveState(dir string) error {
	return saveTrainerState(dir, scalarBuffers("reward_model", t.RM), t.opts(), rlCounts{Step: t.step})
}

// LoadState restores what SaveState wrote.
func (t *RewardTrainer) LoadState(dir string) error {
	c, err := loadTrainerState(dir, scalarBuffers("reward_model", t.RM), t.opts())
	t.step = c.Step
	return err
}

func (t *RewardTrainer) opts() []optState {
	return []optState{{"optimizer", t.opt}, {"optimizer_score", t.optH}}
}

// SaveState writes the policy's and the value model's weights, their
// optimizers, the counters and the KL coefficient.
func (t *PPOTrainer) SaveState(dir string) error {
	w := append([]NamedBuffer{modelBuffer("policy", t.Policy)}, scalarBuffers("value_model", t.Value)...)
	return saveTrainerState(dir, w, t.opts(), rlCounts{Step: t.step, Episode: t.episode, PromptPos: t.prompts.Pos, KLCoef: t.KL.Value()})
}

// LoadState restores what SaveState wrote; the reference and the scorer
// are the caller's, as when the trainer was made.
func (t *PPOTrainer) LoadState(dir string) error {
	w := append([]NamedBuffer{modelBuffer("policy", t.Policy)}, scalarBuffers("value_model", t.Value)...)
	c, err := loadTrainerState(dir, w, t.opts())
	if err != nil {
		return err
	}
	t.step, t.episode, t.prompts.Pos = c.Step, c.Episode, c.PromptPos
	switch k := t.KL.(type) {
	case *FixedKLController:
		k.Coef = c.KLCoef
	case *AdaptiveKLController:
		k.Coef = c.KLCoef
	}
	return nil
}

func (t *PPOTrainer) opts() []optState {
	return []optState{{"optimizer", t.opt}, {"optimizer_value", t.optV}, {"optimizer_value_score", t.optVH}}
}

// saveState and loadState serve RLOO and GRPO.
func (g *groupRun) saveState(dir string) error {
	return saveTrainerState(dir, []NamedBuffer{modelBuffer("policy", g.policy)}, []optState{{"optimizer", g.opt}},
		rlCounts{Step: g.step, Episode: g.episode, PromptPos: g.prompts.Pos})
}

func (g *groupRun) loadState(dir string) error {
	c, err := loadTrainerState(dir, []NamedBuffer{modelBuffer("policy", g.policy)}, []optState{{"optimizer", g.opt}})
	g.step, g.episode, g.prompts.Pos = c.Step, c.Episode, c.PromptPos
	return err
}

// SaveState writes the policy's weights, its optimizer and the counters.
func (t *RLOOTrainer) SaveState(dir string) error { return t.run.saveState(dir) }

// LoadState restores what SaveState wrote.
func (t *RLOOTrainer) LoadState(dir string) error { return t.run.loadState(dir) }

// SaveState writes the policy's weights, its optimizer and the counters.
func (t *GRPOTrainer) SaveState(dir string) error { return t.run.saveState(dir) }

// LoadState restores what SaveState wrote.
func (t *GRPOTrainer) LoadState(dir string) error { return t.run.loadState(dir) }

// The trainers run in the run loop.
var (
	_ Stepper   = (*RewardTrainer)(nil)
	_ Evaluator = (*RewardTrainer)(nil)
	_ Stepper   = (*PPOTrainer)(nil)
	_ Stepper   = (*RLOOTrainer)(nil)
	_ Stepper   = (*GRPOTrainer)(nil)
)
