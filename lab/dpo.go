package lab

import (
	"fmt"
	"time"

	"github.com/alignlab/alignlab/internal/procstat"
	"github.com/alignlab/alignlab/train"
)

// Direct preference optimization for the lab's policies: the sigmoid loss
// of Rafailov et al. (2023), -log σ(β·((log π(y_w) - log π_ref(y_w)) -
// (log π(y_l) - log π_ref(y_l)))), with the reference's log-probs computed
// once before training. It is the lab's own small loop on the engine's
// SequenceLogProbs and its backward.

// DPOConfig configures a DPO run.
type DPOConfig struct {
	Beta  float64 `json:"beta" yaml:"beta"`
	LR    float32 `json:"lr" yaml:"lr"`
	Steps int     `json:"steps" yaml:"steps"`
	Batch int     `json:"batch" yaml:"batch"` // pairs per step
	// Checkpoints is how many evenly spaced snapshots to keep (the
	// checkpoint series; the start is always the first).
	Checkpoints int    `json:"checkpoints" yaml:"checkpoints"`
	Seed        uint64 `json:"seed" yaml:"seed"`
	// RPOAlpha adds RPO's (and TRL's rpo_alpha) term: α times the chosen
	// reply's mean token negative log-likelihood. It keeps the likelihood
	// of chosen replies from falling along with the rejected ones, which
	// at the learning rates a few hundred steps need otherwise wrecks a
	// tiny model.
	RPOAlpha float64 `json:"rpo_alpha" yaml:"rpo_alpha"`
}

// Checkpoint is a policy's weights at one training step.
type Checkpoint struct {
	Step    int       `json:"step"`
	Weights []float32 `json:"-"`
}

// TrainLog is what a preference-optimisation run reports.
type TrainLog struct {
	Method  string  `json:"method"`
	Steps   int     `json:"steps"`
	Seconds float64 `json:"seconds"`
	// CPUSeconds is the process CPU time the run took (steadier than wall
	// time on a shared machine; the lab runs one thing at a time).
	CPUSeconds  float64      `json:"cpu_seconds"`
	PeakHeapMiB float64      `json:"peak_heap_mib"`
	Losses      []float32    `json:"losses,omitempty"` // per step, for the report's training curves
	FinalLoss   float32      `json:"final_loss"`
	Margins     float32      `json:"rewards_margins"`    // mean β·(chosen - rejected log-ratio), last steps
	Accuracies  float32      `json:"rewards_accuracies"` // share with a positive margin, last steps
	Series      []Checkpoint `json:"-"`
}

// checkpointSteps returns the steps after which to snapshot: 0 (before
// training) and n-1 more evenly spaced up to steps.
func checkpointSteps(steps, n int) map[int]bool {
	out := map[int]bool{0: true}
	for i := 1; i < n; i++ {
		out[(steps*i+n-2)/(n-1)] = true
	}
	out[steps] = true
	return out
}

// TrainDPO optimises pol on examples with DPO against ref (pol's starting
// weights when ref is nil). The loop is the library's train.DPOTrainer
// (TRL's DPOTrainer options: sigmoid loss, rpo_alpha, cosine schedule with
// warmup), so the lab measures the trainer users run; the lab adds only the
// checkpoint series and its time and memory accounting.
func TrainDPO(pol, ref *Policy, ex []Example, cfg DPOConfig, progress func(string)) (*TrainLog, error) {
	if len(ex) == 0 || cfg.Steps <= 0 || cfg.Batch <= 0 || cfg.Beta <= 0 {
		return nil, fmt.Errorf("dpo: need examples, steps, batch and beta > 0 (got %d, %d, %d, %g)", len(ex), cfg.Steps, cfg.Batch, cfg.Beta)
	}
	if ref == nil {
		ref = pol
	}
	start, cpu := time.Now(), procstat.CPUTime()
	mem := startHeapWatch()
	// A private copy of the reference, so that its buffers count in this
	// run's memory, as they would for a run on its own.
	ref, err := ref.Clone()
	if err != nil {
		return nil, err
	}
	pairs := make([]train.PrefPair, len(ex))
	for i := range ex {
		if pairs[i], err = prefPair(pol.Codec, &ex[i]); err != nil {
			return nil, fmt.Errorf("dpo: %w", err)
		}
	}
	tc := train.DefaultDPOConfig()
	tc.Beta, tc.RPOAlpha = cfg.Beta, cfg.RPOAlpha
	tc.LearningRate, tc.MaxSteps = cfg.LR, cfg.Steps
	tc.PerDeviceTrainBatchSize, tc.PerDeviceEvalBatchSize = min(cfg.Batch, len(ex)), 64
	tc.LRSchedulerType, tc.WarmupSteps = "cosine", min(10, cfg.Steps/10)
	tc.AdamBeta2, tc.WeightDecay, tc.MaxGradNorm = 0.95, 0, 1
	tc.Seed = int64(cfg.Seed >> 1)
	tr, err := train.NewDPOTrainer(pol.Model, pairs, nil, tc, train.DPOOptions{Ref: ref.Model})
	if err != nil {
		return nil, err
	}
	log := &TrainLog{Method: "dpo", Steps: cfg.Steps}
	snap := checkpointSteps(cfg.Steps, max(cfg.Checkpoints, 2))
	var tailMargin, tailAcc float64
	tailN := 0
	for step := 0; step < cfg.Steps; step++ {
		if snap[step] {
			log.Series = append(log.Series, Checkpoint{Step: step, Weights: pol.Weights()})
		}
		m, err := tr.TrainStep()
		if err != nil {
			return nil, fmt.Errorf("dpo: %w", err)
		}
		if step >= cfg.Steps-max(1, cfg.Steps/10) {
			tailMargin += m["rewards/margins"]
			tailAcc += m["rewards/accuracies"]
			tailN++
		}
		if step%10 == 1 {
			mem.sample()
		}
		log.Losses = append(log.Losses, float32(m["loss"]))
		if progress != nil && (step%20 == 0 || step == cfg.Steps-1) {
			progress(fmt.Sprintf("dpo step %d/%d loss %.3f", step+1, cfg.Steps, m["loss"]))
		}
	}
	log.Series = append(log.Series, Checkpoint{Step: cfg.Steps, Weights: pol.Weights()})
	log.FinalLoss = log.Losses[len(log.Losses)-1]
	log.Margins, log.Accuracies = float32(tailMargin/float64(tailN)), float32(tailAcc/float64(tailN))
	log.Seconds = time.Since(start).Seconds()
	log.CPUSeconds = (procstat.CPUTime() - cpu).Seconds()
	log.PeakHeapMiB = mem.stop()
	return log, nil
}

// prefPair encodes an example as the trainer's token pair: the prompt with
// its generation prompt, then each reply with its end of turn.
func prefPair(c Codec, e *Example) (train.PrefPair, error) {
	ch, err := encodeReply(c, e.Prompt, e.Chosen)
	if err != nil {
		return train.PrefPair{}, err
	}
	rj, err := encodeReply(c, e.Prompt, e.Rejected)
	if err != nil {
		return train.PrefPair{}, err
	}
	n := replyStart(ch)
	if replyStart(rj) != n {
		return train.PrefPair{}, fmt.Errorf("prompt %s: chosen and rejected replies start at different tokens", e.Prompt.ID)
	}
	return train.PrefPair{Prompt: ch.ids[:n], Chosen: ch.ids[n:], Rejected: rj.ids[n:], Source: e.Prompt.ID}, nil
}

// replyStart is the index of r's first reply token.
func replyStart(r encodedReply) int {
	for i, on := range r.target {
		if on {
			return i
		}
	}
	return len(r.ids)
}
