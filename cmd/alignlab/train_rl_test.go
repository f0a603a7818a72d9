package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/train"
	"github.com/spf13/cobra"
)

// TestTrainRMThenRL runs 'train rm' on pretokenized pairs from a tiny
// model, then 'train ppo', 'train rloo' and 'train grpo' against the
// reward model it wrote, and checks each writes its model, metrics under
// TRL's names, and resumes.
func TestTrainRMThenRL(t *testing.T) {
	dir := t.TempDir()
	m, err := model.New(model.GPT2Config(12, 16, 1, 2, 16), 1)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base")
	if err := m.Save(base); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var prefs, prompts bytes.Buffer
	for range 40 {
		p := []int32{int32(rng.IntN(12)), int32(rng.IntN(12))}
		c := append(append([]int32{}, p...), 0, 2, 4)
		r := append(append([]int32{}, p...), 1, 3, 5)
		fmt.Fprintf(&prefs, `{"input_ids_chosen": %s, "input_ids_rejected": %s}`+"\n", js(c), js(r))
		fmt.Fprintf(&prompts, `{"input_ids": %s}`+"\n", js(p))
	}
	prefs.WriteString(`{"input_ids_chosen": [1, 2], "input_ids_rejected": [1, 2]}` + "\n") // reported and skipped
	prefPath, promptPath := filepath.Join(dir, "prefs.jsonl"), filepath.Join(dir, "prompts.jsonl")
	os.WriteFile(prefPath, prefs.Bytes(), 0o644)
	os.WriteFile(promptPath, prompts.Bytes(), 0o644)

	exec := func(args ...string) (string, string, error) {
		c := map[string]func() *cobra.Command{
			"rm": newTrainRMCmd, "ppo": newTrainPPOCmd, "rloo": newTrainRLOOCmd, "grpo": newTrainGRPOCmd,
		}[args[0]]()
		var out, errb bytes.Buffer
		c.SetOut(&out)
		c.SetErr(&errb)
		c.SetArgs(args[1:])
		err := c.Execute()
		return out.String(), errb.String(), err
	}
	rmRun := filepath.Join(dir, "rm-run")
	out, stderr, err := exec("rm", "--model", base, "--data", prefPath, "--run-dir", rmRun,
		"--learning-rate", "1e-3", "--num-train-epochs", "3", "--logging-steps", "1", "--json")
	if err != nil {
		t.Fatalf("train rm: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "prefs.jsonl:41: chosen equals rejected") {
		t.Errorf("the bad row was not reported by line:\n%s", stderr)
	}
	var rep train.DataReport
	if err := train.ReadJSON(filepath.Join(rmRun, "data_report.json"), &rep); err != nil || len(rep.Problems) == 0 {
		t.Errorf("data_report.json, which the report points to: %v, %d problems listed", err, len(rep.Problems))
	}
	var res struct {
		Model   string             `json:"model"`
		Metrics map[string]float64 `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("train rm --json: %v\n%s", err, out)
	}
	if _, ok := res.Metrics["eval_accuracy"]; !ok {
		t.Errorf("no eval_accuracy in %v", res.Metrics)
	}
	rmDir := filepath.Join(rmRun, "model")
	if _, err := train.LoadScalarModel(rmDir); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"ppo", "rloo", "grpo"} {
		t.Run(method, func(t *testing.T) {
			run := filepath.Join(dir, method+"-run")
			args := []string{method, "--model", base, "--reward-model", rmDir, "--prompts", promptPath, "--run-dir", run,
				"--learning-rate", "1e-3", "--per-device-train-batch-size", "4", "--max-steps", "3", "--logging-steps", "1",
				"--save-steps", "2", "--json"}
			if method == "grpo" {
				args = append(args, "--max-completion-length", "4", "--num-generations", "4")
			} else {
				args = append(args, "--response-length", "4")
			}
			if _, stderr, err := exec(args...); err != nil {
				t.Fatalf("train %s: %v\n%s", method, err, stderr)
			}
			if _, err := model.Load(filepath.Join(run, "model")); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(run, "data_report.json")); err != nil {
				t.Errorf("no prompts report: %v", err)
			}
			ms, err := train.ReadMetrics(run)
			if err != nil || len(ms) != 3 {
				t.Fatalf("metrics: %d lines, %v", len(ms), err)
			}
			key := "objective/kl"
			if method == "grpo" {
				key = "reward"
			}
			if _, ok := ms[2][key]; !ok {
				t.Errorf("no %s in %v", key, ms[2])
			}
			// A finished run resumes from its last checkpoint and has nothing left to do.
			if _, stderr, err := exec(method, "--resume", run); err != nil || !strings.Contains(stderr, "resuming") {
				t.Errorf("resume: %v\n%s", err, stderr)
			}
		})
	}
	// A response as long as the context leaves no room for a prompt.
	m, err = model.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	long := fmt.Sprint(m.Config.MaxSeqLen)
	if _, stderr, err := exec("rloo", "--model", base, "--reward-model", rmDir, "--prompts", promptPath, "--run-dir", filepath.Join(dir, "long"),
		"--max-steps", "1", "--response-length", long); err == nil || !strings.Contains(err.Error()+stderr, "no room for a prompt") {
		t.Errorf("response length %s: err %v\n%s", long, err, stderr)
	}
}

func js(x []int32) string {
	b, _ := json.Marshal(x)
	return string(b)
}

// TestResumeKeepsZeroEvalSplit: a run started with --eval-split 0 resumes
// with 0, not the command's default of 0.1 (which would move a tenth of
// the training pairs to eval on resume).
func TestResumeKeepsZeroEvalSplit(t *testing.T) {
	dir := t.TempDir()
	mdir := filepath.Join(dir, "m")
	os.MkdirAll(mdir, 0o755)
	os.WriteFile(filepath.Join(mdir, "config.json"), []byte("{}"), 0o644)
	data := filepath.Join(dir, "pairs.jsonl")
	os.WriteFile(data, []byte("{}\n"), 0o644)
	rc := train.DefaultRewardConfig()
	run := filepath.Join(dir, "run")
	r, err := openRun(&cobra.Command{}, runFlags{runDir: run}, &rlRunConfig{Method: "rm", Model: mdir, Data: []string{data}, EvalSplit: 0, RM: &rc})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	rc2 := train.DefaultRewardConfig()
	cfg := rlRunConfig{Method: "rm", EvalSplit: 0.1, RM: &rc2}
	r, err = openRun(&cobra.Command{}, runFlags{resume: run}, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if cfg.EvalSplit != 0 || cfg.Model != mdir || cfg.RM == nil {
		t.Fatalf("resumed config %+v", cfg)
	}
}
