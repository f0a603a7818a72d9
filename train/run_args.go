// The options the SFT and DPO-family trainers share, under transformers'
// TrainingArguments names (which TRL's configs extend), and the learning
// rate schedules of transformers' get_scheduler.

package train

import (
	"fmt"
	"math"
)

// TrainingArgs are the optimisation and bookkeeping options of a trainer.
// JSON names are transformers' TrainingArguments fields.
type TrainingArgs struct {
	LearningRate float32 `json:"learning_rate"`
	// PerDeviceTrainBatchSize is the micro-batch run through the model at
	// once; an optimizer step sees PerDeviceTrainBatchSize ·
	// GradientAccumulationSteps examples.
	PerDeviceTrainBatchSize   int `json:"per_device_train_batch_size"`
	PerDeviceEvalBatchSize    int `json:"per_device_eval_batch_size"`
	GradientAccumulationSteps int `json:"gradient_accumulation_steps"`
	NumTrainEpochs            int `json:"num_train_epochs"`
	// MaxSteps, when > 0, overrides NumTrainEpochs.
	MaxSteps int `json:"max_steps"`
	// LRSchedulerType is linear, cosine, constant or constant_with_warmup.
	LRSchedulerType string  `json:"lr_scheduler_type"`
	WarmupRatio     float64 `json:"warmup_ratio"`
	// WarmupSteps, when > 0, overrides WarmupRatio.
	WarmupSteps int     `json:"warmup_steps"`
	WeightDecay float32 `json:"weight_decay"`
	AdamBeta1   float32 `json:"adam_beta1"`
	AdamBeta2   float32 `json:"adam_beta2"`
	AdamEpsilon float32 `json:"adam_epsilon"`
	// MaxGradNorm clips the global gradient norm (0 = no clipping).
	MaxGradNorm  float32 `json:"max_grad_norm"`
	LoggingSteps int     `json:"logging_steps"`
	EvalSteps    int     `json:"eval_steps"`
	SaveSteps    int     `json:"save_steps"`
	Seed         int64   `json:"seed"`
}

// DefaultTrainingArgs returns transformers' defaults (learning rate 5e-5,
// batch 8, 3 epochs, linear decay, no warmup, no weight decay, Adam betas
// 0.9/0.999, eps 1e-8, gradient norm clipped at 1, seed 42) with logging
// every 10 steps and a checkpoint every 500, as TRL's configs set them.
func DefaultTrainingArgs() TrainingArgs {
	return TrainingArgs{
		LearningRate: 5e-5, PerDeviceTrainBatchSize: 8, PerDeviceEvalBatchSize: 8,
		GradientAccumulationSteps: 1, NumTrainEpochs: 3, LRSchedulerType: "linear",
		AdamBeta1: 0.9, AdamBeta2: 0.999, AdamEpsilon: 1e-8, MaxGradNorm: 1,
		LoggingSteps: 10, SaveSteps: 500, Seed: 42,
	}
}

// Validate reports the first unusable option.
func (a TrainingArgs) Validate() error {
	switch {
	case !(a.LearningRate >= 0) || math.IsInf(float64(a.LearningRate), 0):
		return fmt.Errorf("learning_rate must be a non-negative number, got %g", a.LearningRate)
	case a.PerDeviceTrainBatchSize < 1:
		return fmt.Errorf("per_device_train_batch_size must be at least 1, got %d", a.PerDeviceTrainBatchSize)
	case a.GradientAccumulationSteps < 1:
		return fmt.Errorf("gradient_accumulation_steps must be at least 1, got %d", a.GradientAccumulationSteps)
	case a.NumTrainEpochs < 1 && a.MaxSteps < 1:
		return fmt.Errorf("num_train_epochs must be at least 1 (or set max_steps), got %d", a.NumTrainEpochs)
	case !(a.WarmupRatio >= 0 && a.WarmupRatio <= 1): // NaN too
		return fmt.Errorf("warmup_ratio must be in [0, 1], got %g", a.WarmupRatio)
	case !(a.MaxGradNorm >= 0) || math.IsInf(float64(a.MaxGradNorm), 0):
		return fmt.Errorf("max_grad_norm must be a number >= 0 (0: no clipping), got %g", a.MaxGradNorm)
	case !(a.WeightDecay >= 0) || math.IsInf(float64(a.WeightDecay), 0):
		return fmt.Errorf("weight_decay must be a number >= 0, got %g", a.WeightDecay)
	case !(a.AdamBeta1 >= 0 && a.AdamBeta1 < 1) || !(a.AdamBeta2 >= 0 && a.AdamBeta2 < 1):
		return fmt.Errorf("adam_beta1 and adam_beta2 must be in [0, 1), got %g and %g", a.AdamBeta1, a.AdamBeta2)
	case !(a.AdamEpsilon > 0) || math.IsInf(float64(a.AdamEpsilon), 0):
		return fmt.Errorf("adam_epsilon must be a positive number, got %g", a.AdamEpsilon)
	}
	switch a.LRSchedulerType {
	case "", "linear", "cosine", "constant", "constant_with_warmup":
	default:
		return fmt.Errorf("lr_scheduler_type %q is not linear, cosine, constant or constant_with_warmup", a.LRSchedulerType)
	}
	return nil
}

// globalBatch is the number of examples per optimizer step.
func (a TrainingArgs) globalBatch() int {
	return max(a.PerDeviceTrainBatchSize, 1) * max(a.GradientAccumulationSteps, 1)
}

// evalBatch is the evaluation micro-batch.
func (a TrainingArgs) evalBatch() int {
	if a.PerDeviceEvalBatchSize > 0 {
		return a.PerDeviceEvalBatchSize
	}
	return max(a.PerDeviceTrainBatchSize, 1)
}

// totalSteps is the run's length for n training examples.
func (a TrainingArgs) totalSteps(n int) int {
	if a.MaxSteps > 0 {
		return a.MaxSteps
	}
	per := (n + a.globalBatch() - 1) / a.globalBatch()
	return per * a.NumTrainEpochs
}

// warmup is the number of warmup steps in a run of total steps.
func (a TrainingArgs) warmup(total int) int {
	if a.WarmupSteps > 0 {
		return a.WarmupSteps
	}
	return int(math.Ceil(a.WarmupRatio * float64(total)))
}

// adamW returns the optimizer for n parameters with these options and the
// given spans exempt from weight decay.
func (a TrainingArgs) adamW(n int, noDecay []Span) *AdamW {
	return NewAdamW(n, AdamWConfig{LR: a.LearningRate, Beta1: a.AdamBeta1, Beta2: a.AdamBeta2, Eps: a.AdamEpsilon, WeightDecay: a.WeightDecay, NoDecay: noDecay})
}

// LRAt returns the learning rate of optimizer step step (from 0) of total,
// as transformers' schedulers give it: warmup rises linearly from 0, then
// linear decays to 0, cosine follows half a cosine to 0, constant stays.
func (a TrainingArgs) LRAt(step, total int) float32 {
	return float32(float64(a.LearningRate) * ScheduleFactor(a.LRSchedulerType, step, a.warmup(total), total))
}

// ScheduleFactor is the multiplier of the base learning rate at step for
// the named schedule (transformers' get_scheduler lambdas).
func ScheduleFactor(kind string, step, warmup, total int) float64 {
	if kind == "constant" {
		return 1
	}
	if step < warmup {
		return float64(step) / float64(max(1, warmup))
	}
	switch kind {
	case "constant_with_warmup":
		return 1
	case "cosine":
		progress := float64(step-warmup) / float64(max(1, total-warmup))
		return math.Max(0, 0.5*(1+math.Cos(math.Pi*progress)))
	default: // linear
		return math.Max(0, float64(total-step)/float64(max(1, total-warmup)))
	}
}
