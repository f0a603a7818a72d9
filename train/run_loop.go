// The training loop every trainer shares when it runs inside a Run: steps,
// TRL-style logging (metrics averaged over logging_steps), periodic
// evaluation and checkpoints, a progress line, a clean stop on interrupt,
// and a stop on a non-finite loss that keeps the last good checkpoint.

package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
)

// Stepper is a trainer that Run.Train can drive.
type Stepper interface {
	Checkpointer
	// Step returns the number of optimizer steps taken so far.
	Step() int
	// NumSteps returns the total number of steps of the run.
	NumSteps() int
	// TrainStep takes one optimizer step and returns its metrics under
	// TRL's names ("loss", "grad_norm", "learning_rate", ...). It returns
	// an error naming the step, and leaves the weights as they were, when
	// the loss or the gradient is not finite.
	TrainStep() (Metrics, error)
}

// Evaluator is a Stepper that can also measure held-out data. Its metric
// names carry no prefix; Run.Train logs them with TRL's "eval_" prefix.
type Evaluator interface {
	Evaluate() (Metrics, error)
}

// LoopConfig says how often Run.Train logs, evaluates and saves (TRL's
// logging_steps, eval_steps, save_steps; 0 turns evaluation or periodic
// saving off, logging defaults to every step).
type LoopConfig struct {
	LoggingSteps int `json:"logging_steps"`
	EvalSteps    int `json:"eval_steps"`
	SaveSteps    int `json:"save_steps"`
	// StopAfter, when > 0, ends the call after that step (with a
	// checkpoint), as an interruption would; the run can then be resumed.
	StopAfter int `json:"-"`
	// ProgressKeys are the metrics shown on the progress line, in order
	// (default: loss, then learning_rate).
	ProgressKeys []string `json:"-"`
}

// ErrStopped is returned (wrapped) by Run.Train when it stopped early,
// through the context or LoopConfig.StopAfter, after saving a checkpoint.
var ErrStopped = errors.New("training stopped early")

// Train runs s from its current step to s.NumSteps(): after each step it
// accumulates the metrics and logs their mean every LoggingSteps steps
// (and at the last step), evaluates every EvalSteps steps (and at the end,
// when s is an Evaluator), saves a checkpoint every SaveSteps steps and at
// the end. When ctx is cancelled it finishes the current step, saves a
// checkpoint and returns an error wrapping ErrStopped. When a step fails
// (a NaN loss, say) it returns that error, naming the step and the last
// good checkpoint, and writes nothing more.
func (r *Run) Train(ctx context.Context, s Stepper, cfg LoopConfig) error {
	r.trained = true
	logEvery := max(cfg.LoggingSteps, 1)
	total := s.NumSteps()
	keys := cfg.ProgressKeys
	if len(keys) == 0 {
		keys = []string{"loss", "learning_rate"}
	}
	r.progress.start(s.Step(), total)
	lastSaved := -1
	save := func() error {
		step := s.Step()
		if step == lastSaved {
			return nil
		}
		lastSaved = step
		return r.SaveCheckpoint(step, s)
	}
	for s.Step() < total {
		if err := ctx.Err(); err != nil {
			if serr := save(); serr != nil {
				return serr
			}
			return fmt.Errorf("%w at step %d (%v); continue with --resume %s", ErrStopped, s.Step(), err, r.Dir)
		}
		m, err := s.TrainStep()
		if err != nil {
			return r.stepFailed(err)
		}
		step := s.Step()
		r.window.add(m)
		r.progress.update(r.Progress, step, m, keys)
		if step%logEvery == 0 || step == total {
			if err := r.LogMetrics(step, r.window.mean()); err != nil {
				return err
			}
			r.window = logWindow{}
		}
		if ev, ok := s.(Evaluator); ok && ((cfg.EvalSteps > 0 && step%cfg.EvalSteps == 0) || step == total) {
			em, err := ev.Evaluate()
			if err != nil {
				return fmt.Errorf("evaluate at step %d: %w", step, err)
			}
			// A trainer without eval data returns no metrics: nothing to
			// log, rather than a bare {"step":N} line and "eval at step N:".
			if len(em) > 0 {
				if err := r.LogMetrics(step, prefixed("eval_", em)); err != nil {
					return err
				}
				r.progress.note(r.Progress, step, prefixed("eval_", em), keys)
			}
		}
		if (cfg.SaveSteps > 0 && step%cfg.SaveSteps == 0) || step == total {
			if err := save(); err != nil {
				return err
			}
		}
		if cfg.StopAfter > 0 && step >= cfg.StopAfter && step < total {
			if err := save(); err != nil {
				return err
			}
			return fmt.Errorf("%w at step %d (stop_after); continue with --resume %s", ErrStopped, step, r.Dir)
		}
	}
	r.progress.finish(r.Progress)
	return nil
}

// stepFailed wraps a failed step's error with where to go on from.
func (r *Run) stepFailed(err error) error {
	r.progress.finish(r.Progress)
	dir, _, ok, lerr := r.LatestCheckpoint()
	switch {
	case lerr != nil || !ok:
		return fmt.Errorf("%w; no checkpoint was written before it", err)
	default:
		return fmt.Errorf("%w; the last good checkpoint is %s (change what failed, e.g. a lower learning_rate in %s, then resume with --resume %s)", err, dir, filepath.Join(r.Dir, RunConfigFile), r.Dir)
	}
}

// prefixed returns m with every key prefixed.
func prefixed(p string, m Metrics) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[p+k] = v
	}
	return out
}

// logWindow accumulates metrics between two log lines, as TRL averages its
// stored metrics over logging_steps. It is part of a checkpoint, so that a
// resumed run logs the same means.
type logWindow struct {
	Sums  map[string]float64 `json:"sums,omitempty"`
	Count map[string]int     `json:"count,omitempty"`
	Last  map[string]float64 `json:"last,omitempty"`
}

// lastValueKeys are metrics that describe where the run is rather than how
// a step went; the log line shows their latest value, as TRL does.
var lastValueKeys = map[string]bool{"epoch": true, "learning_rate": true, "num_tokens": true, "episode": true, "lr": true}

// add accumulates one step's metrics; non-finite values are left out of the
// means (JSON could not carry them into a checkpoint).
func (w *logWindow) add(m Metrics) {
	if w.Sums == nil {
		w.Sums, w.Count, w.Last = map[string]float64{}, map[string]int{}, map[string]float64{}
	}
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if lastValueKeys[k] {
			w.Last[k] = v
			continue
		}
		w.Sums[k] += v
		w.Count[k]++
	}
}

// mean returns the window's averages and latest values.
func (w *logWindow) mean() map[string]float64 {
	out := make(map[string]float64, len(w.Sums)+len(w.Last))
	for k, s := range w.Sums {
		out[k] = s / float64(w.Count[k])
	}
	for k, v := range w.Last {
		out[k] = v
	}
	return out
}

func nan() float64 { return math.NaN() }
