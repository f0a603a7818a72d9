// What an optimizer step updates: every weight of the model, or only the
// LoRA adapters of some of its matrices. The SFT and DPO trainers run the
// engine's backward into the model's full gradient either way and then
// hand it to one of these.

package train

import (
	"fmt"

	"github.com/alignlab/alignlab/model"
)

// trainable turns the model's accumulated gradient into an update.
type trainable interface {
	// update clips the gradient's global norm at maxNorm (0 = off) and
	// takes one AdamW step at lr. It returns the norm before clipping; when
	// that is not finite nothing is updated.
	update(lr, maxNorm float32) float32
	// saveState writes the trainable weights and the optimizer into dir.
	saveState(dir string) error
	// loadState restores what saveState wrote.
	loadState(dir string) error
}

// fullWeights trains every parameter of the model.
type fullWeights struct {
	m   *model.Model
	opt *AdamW
}

func newFullWeights(m *model.Model, args TrainingArgs) *fullWeights {
	return &fullWeights{m: m, opt: args.adamW(len(m.Params.Data), NoDecaySpans(m.Params))}
}

func (f *fullWeights) update(lr, maxNorm float32) float32 {
	norm := GradNorm(f.m.Grads.Data)
	if nonFinite(norm) != "" {
		return norm
	}
	f.opt.StepScaled(f.m.Params.Data, f.m.Grads.Data, lr, clipScale(norm, maxNorm))
	return norm
}

func (f *fullWeights) saveState(dir string) error {
	if err := f.m.Save(dir); err != nil {
		return err
	}
	return SaveAdamW(dir, "optimizer", f.opt)
}

func (f *fullWeights) loadState(dir string) error {
	if err := LoadModelWeights(dir, f.m); err != nil {
		return fmt.Errorf("load weights: %w", err)
	}
	return LoadAdamW(dir, "optimizer", f.opt)
}
