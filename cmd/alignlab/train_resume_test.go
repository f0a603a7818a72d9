package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/train"
)

// What --resume holds a run to: no flag beside it that would change the
// run, the same data (by content, found by absolute path from any
// directory), and a run stopped before its first checkpoint starts again.
func TestResumeSafeguards(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	lmTestModel(t, base)
	var rows []string
	for i := range 16 {
		rows = append(rows, fmt.Sprintf(`{"messages":[{"role":"user","content":%q},{"role":"assistant","content":"1 2 3 4"}]}`, []string{"q z", "w q"}[i%2]))
	}
	data := filepath.Join(dir, "sft.jsonl")
	os.WriteFile(data, []byte(strings.Join(rows, "\n")+"\n"), 0o644)

	// Paths are given relative to the working directory and recorded
	// absolute.
	t.Chdir(dir)
	run := filepath.Join(dir, "runs", "sft")
	if _, stderr, err := runTrain(t, "sft", "--model", "base", "--data", "sft.jsonl", "--run-dir", run,
		"--num-train-epochs", "1", "--per-device-train-batch-size", "4", "--save-steps", "2"); err != nil {
		t.Fatalf("train sft: %v\n%s", err, stderr)
	}
	var cfg lmRunConfig
	if err := train.ReadJSON(filepath.Join(run, train.RunConfigFile), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Model != base || len(cfg.Data) != 1 || cfg.Data[0] != data || cfg.Inputs[data] == "" {
		t.Fatalf("config records model %q, data %q, digests %v; want absolute paths and the data's digest", cfg.Model, cfg.Data, cfg.Inputs)
	}

	// A flag beside --resume is refused, not dropped.
	_, _, err := runTrain(t, "sft", "--resume", run, "--learning-rate", "0.5", "--data", "other.jsonl")
	if err == nil || !strings.Contains(err.Error(), "--data, --learning-rate") {
		t.Fatalf("resume with --learning-rate and --data: %v, want both refused", err)
	}

	// From another directory the recorded inputs are still found.
	t.Chdir(t.TempDir())
	if _, stderr, err := runTrain(t, "sft", "--resume", run); err != nil {
		t.Fatalf("resume from another directory: %v\n%s", err, stderr)
	}

	// Edited data (same row count) is refused.
	os.WriteFile(data, []byte(strings.ReplaceAll(strings.Join(rows, "\n"), "1 2 3 4", "4 3 2 1")+"\n"), 0o644)
	_, _, err = runTrain(t, "sft", "--resume", run)
	if err == nil || !strings.Contains(err.Error(), "changed since the run started") {
		t.Fatalf("resume over edited data: %v, want a refusal", err)
	}
	os.WriteFile(data, []byte(strings.Join(rows, "\n")+"\n"), 0o644)

	// A run with no checkpoint yet (stopped early: here, made and
	// closed without training) resumes from step 0, and its final model
	// equals an uninterrupted run's.
	fresh := filepath.Join(dir, "runs", "fresh")
	if _, stderr, err := runTrain(t, "sft", "--model", base, "--data", data, "--run-dir", fresh,
		"--num-train-epochs", "1", "--per-device-train-batch-size", "4"); err != nil {
		t.Fatalf("train sft: %v\n%s", err, stderr)
	}
	os.RemoveAll(filepath.Join(fresh, "model"))
	os.RemoveAll(filepath.Join(fresh, train.RunCheckpoints))
	os.WriteFile(filepath.Join(fresh, train.RunMetricsFile), []byte(`{"step":1,"loss":9}`+"\n"), 0o644)
	_, stderr, err := runTrain(t, "sft", "--resume", fresh)
	if err != nil || !strings.Contains(stderr, "starting it again from step 0") {
		t.Fatalf("resume without a checkpoint: %v\n%s", err, stderr)
	}
	want, _ := os.ReadFile(filepath.Join(run, "model", "model.safetensors"))
	got, _ := os.ReadFile(filepath.Join(fresh, "model", "model.safetensors"))
	if len(want) == 0 || string(got) != string(want) {
		t.Error("the run restarted from step 0 ended with other weights than an uninterrupted one")
	}
	ms, err := train.ReadMetrics(fresh)
	if err != nil || len(ms) == 0 || ms[0]["loss"] == 9 {
		t.Errorf("metrics after the restart: %v, %v; want the stale line gone", ms, err)
	}

	// A finished run whose checkpoints were removed is not trained over.
	os.RemoveAll(filepath.Join(fresh, train.RunCheckpoints))
	before, _ := os.ReadFile(filepath.Join(fresh, train.RunMetricsFile))
	_, _, err = runTrain(t, "sft", "--resume", fresh)
	if err == nil || !strings.Contains(err.Error(), "has finished") {
		t.Errorf("resume of a finished run with no checkpoint: %v, want a refusal", err)
	}
	if after, _ := os.ReadFile(filepath.Join(fresh, train.RunMetricsFile)); string(after) != string(before) {
		t.Error("the refused resume changed metrics.jsonl")
	}
}
