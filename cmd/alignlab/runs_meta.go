package main

// run.json for the training commands: train.CreateRun makes the run
// directory; this records the command and seed beside its config.json so
// 'alignlab runs' lists it and a report can print how it was made.

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/train"
)

// writeTrainMeta writes dir/run.json for a new training run of method.
func writeTrainMeta(dir, method string, a *train.TrainingArgs) error {
	m := rundir.Meta{ID: filepath.Base(dir), Kind: "train-" + method, Command: os.Args, Created: time.Now().UTC(), Version: version}
	if a != nil && a.Seed >= 0 {
		s := uint64(a.Seed)
		m.Seed = &s
	}
	return rundir.WriteMeta(dir, m)
}

// trainingArgs returns the TrainingArgs inside whichever method config is
// set.
func (c *lmRunConfig) trainingArgs() *train.TrainingArgs {
	switch {
	case c.DPO != nil:
		return &c.DPO.TrainingArgs
	case c.SFT != nil:
		return &c.SFT.TrainingArgs
	}
	return nil
}

// trainingArgs returns the TrainingArgs inside whichever method config is
// set.
func (c *rlRunConfig) trainingArgs() *train.TrainingArgs {
	switch {
	case c.RM != nil:
		return &c.RM.TrainingArgs
	case c.PPO != nil:
		return &c.PPO.TrainingArgs
	case c.RLOO != nil:
		return &c.RLOO.TrainingArgs
	case c.GRPO != nil:
		return &c.GRPO.TrainingArgs
	}
	return nil
}

// checkRunInputs fails before a run directory is made when an input the
// run needs is missing, so a typo leaves no empty run behind for 'alignlab
// runs' to list. Empty names are skipped (their own checks say what is
// missing).
func checkRunInputs(models []string, files []string) error {
	for _, m := range models {
		if m == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(m, "config.json")); err != nil {
			return fmt.Errorf("model %s: no config.json there; give a model directory (a Hugging Face download, or an alignlab checkpoint such as runs/<id>/model)", m)
		}
	}
	for _, f := range files {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("input %s: %w; check the path", f, err)
		}
	}
	return nil
}
