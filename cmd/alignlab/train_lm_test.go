package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
	"github.com/alignlab/alignlab/train"
)

// lmTestModel writes a tiny GPT-2 with a ChatML tokenizer to dir.
func lmTestModel(t *testing.T, dir string) {
	t.Helper()
	tok, err := tokenizer.Train([]string{"the answer is 1 2 3 4", "q z w q z w"}, tokenizer.TrainConfig{
		VocabSize: 280, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.SetChatTemplate("chatml"); err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.GPT2Config(tok.VocabSize(), 48, 1, 2, 32), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(dir); err != nil {
		t.Fatal(err)
	}
}

func runTrain(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	c := newTrainCmd()
	var out, errb bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SetArgs(args)
	err := c.Execute()
	return out.String(), errb.String(), err
}

// 'train sft' then 'train dpo' (LoRA, export to TRL) on a tiny model:
// runs, models, adapters, metrics under TRL's names, reports of bad rows,
// and --resume of a finished run.
func TestTrainSFTAndDPOCommands(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	lmTestModel(t, base)
	var sft, dpo []string
	for i := range 24 {
		u := []string{"q z", "w q", "z z w"}[i%3]
		sft = append(sft, fmt.Sprintf(`{"messages":[{"role":"user","content":%q},{"role":"assistant","content":"1 2 3 4"}]}`, u))
		dpo = append(dpo, fmt.Sprintf(`{"prompt":[{"role":"user","content":%q}],"chosen":[{"role":"assistant","content":"1 2"}],"rejected":[{"role":"assistant","content":"3 4"}]}`, u))
	}
	sft = append(sft, `{"messages":[{"role":"user","content":"no answer"}]}`)
	dpo = append(dpo, `{"prompt":"q","chosen":" 1","rejected":" 1"}`)
	sftPath, dpoPath := filepath.Join(dir, "sft.jsonl"), filepath.Join(dir, "dpo.jsonl")
	os.WriteFile(sftPath, []byte(strings.Join(sft, "\n")+"\n"), 0o644)
	os.WriteFile(dpoPath, []byte(strings.Join(dpo, "\n")+"\n"), 0o644)

	sftRun := filepath.Join(dir, "runs", "sft")
	out, stderr, err := runTrain(t, "sft", "--model", base, "--data", sftPath, "--run-dir", sftRun,
		"--learning-rate", "3e-3", "--num-train-epochs", "2", "--per-device-train-batch-size", "4", "--logging-steps", "1", "--eval-fraction", "0.2", "--json")
	if err != nil {
		t.Fatalf("train sft: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "sft.jsonl:25: empty response") {
		t.Errorf("bad SFT row not reported:\n%s", stderr)
	}
	var res struct {
		Model   string             `json:"model"`
		Metrics map[string]float64 `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, ok := res.Metrics["eval_loss"]; !ok {
		t.Errorf("no eval_loss in %v", res.Metrics)
	}
	sftModel := filepath.Join(sftRun, "model")

	dpoRun := filepath.Join(dir, "runs", "dpo")
	export := filepath.Join(dir, "trl")
	out, stderr, err = runTrain(t, "dpo", "--model", sftModel, "--data", dpoPath, "--run-dir", dpoRun,
		"--learning-rate", "1e-2", "--num-train-epochs", "2", "--per-device-train-batch-size", "4", "--logging-steps", "1",
		"--lora-r", "4", "--lora-alpha", "8", "--lora-targets", "q,k,v,o,up,down", "--beta", "0.2", "--export-trl", export, "--json")
	if err != nil {
		t.Fatalf("train dpo: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "dpo.jsonl:25:") || !strings.Contains(stderr, "chosen equals rejected") {
		t.Errorf("bad pair not reported:\n%s", stderr)
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, k := range []string{"loss", "rewards/accuracies", "rewards/margins", "eval_rewards/accuracies", "grad_norm", "learning_rate"} {
		if _, ok := res.Metrics[k]; !ok {
			t.Errorf("no %s in %v", k, res.Metrics)
		}
	}
	for _, p := range []string{"config.json", "metrics.jsonl", "data_report.json", "model/model.safetensors", "adapter/adapter_config.json", "adapter/adapter_model.safetensors"} {
		if _, err := os.Stat(filepath.Join(dpoRun, p)); err != nil {
			t.Errorf("run lacks %s", p)
		}
	}
	for _, p := range []string{"train.jsonl", "config.yaml", "train_trl.py"} {
		if _, err := os.Stat(filepath.Join(export, p)); err != nil {
			t.Errorf("export lacks %s", p)
		}
	}
	if _, _, err := hf.Load(filepath.Join(export, "model")); err != nil {
		t.Errorf("exported model: %v", err)
	}
	// The merged model equals the SFT model plus the PEFT adapter.
	merged, err := model.Load(filepath.Join(dpoRun, "model"))
	if err != nil {
		t.Fatal(err)
	}
	plus, err := model.Load(sftModel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.LoadAdapter(filepath.Join(dpoRun, "adapter"), plus); err != nil {
		t.Fatal(err)
	}
	for i := range merged.Params.Data {
		if merged.Params.Data[i] != plus.Params.Data[i] {
			t.Fatalf("merged weights differ from base + adapter at %d", i)
		}
	}
	// Resuming a finished run changes nothing and says where it was.
	if _, stderr, err := runTrain(t, "dpo", "--resume", dpoRun); err != nil || !strings.Contains(stderr, "resuming") {
		t.Fatalf("resume: %v\n%s", err, stderr)
	}
	if _, _, err := runTrain(t, "sft", "--resume", dpoRun); err == nil {
		t.Fatal("resuming a dpo run as sft succeeded")
	}
}
