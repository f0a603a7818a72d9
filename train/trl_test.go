package train

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/ckpt/hf"
	"github.com/alignlab/alignlab/prefs"
)

// --export-trl writes the pairs as TRL JSONL (conversational rows stay
// message lists), a TRL config with the run's method and options, the
// script, and the model as a Hugging Face checkpoint that loads back with
// the same logits.
func TestExportTRLDPO(t *testing.T) {
	tok := testTokenizer(t)
	dir := t.TempDir()
	path := writeLines(t, filepath.Join(dir, "p.jsonl"), []string{
		`{"prompt":"q z","chosen":" 1 2","rejected":" 3 4"}`,
		`{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"1"}],"rejected":[{"role":"assistant","content":"2"}]}`,
		`{"prompt":"w","chosen":" 3","rejected":" 4"}`,
	})
	pairs, _, err := ReadPrefPairs(context.Background(), []string{path}, tok, 64, prefs.ReadOptions{Workers: 1})
	if err != nil || len(pairs) != 3 {
		t.Fatalf("%d pairs, %v", len(pairs), err)
	}
	m := sftModel(t, tok.VocabSize(), 2)
	cfg := DefaultDPOConfig()
	cfg.LossType, cfg.Beta, cfg.LabelSmoothing, cfg.RPOAlpha, cfg.LearningRate, cfg.NumTrainEpochs = LossRobust, 0.25, 0.1, 0.5, 5e-6, 2
	out := filepath.Join(dir, "trl")
	lora := &LoRAConfig{R: 4, Alpha: 8, Targets: []string{"q", "k", "v", "o"}}
	if err := ExportTRLDPO(out, m, tok, pairs[:2], pairs[2:], cfg, lora); err != nil {
		t.Fatal(err)
	}
	rows := readJSONLines(t, filepath.Join(out, TRLTrainFile))
	if len(rows) != 2 || rows[0]["prompt"] != "q z" || rows[0]["chosen"] != " 1 2" {
		t.Fatalf("train rows %v", rows)
	}
	if msgs, ok := rows[1]["chosen"].([]any); !ok || len(msgs) != 1 {
		t.Fatalf("conversational row not kept as messages: %v", rows[1])
	}
	if ev := readJSONLines(t, filepath.Join(out, TRLEvalFile)); len(ev) != 1 {
		t.Fatalf("eval rows %v", ev)
	}
	yaml, _ := os.ReadFile(filepath.Join(out, TRLConfigFile))
	for _, want := range []string{`trainer: "dpo"`, `loss_type: "robust"`, "beta: 0.25", "label_smoothing: 0.1", "rpo_alpha: 0.5",
		"learning_rate: 5.0e-06", "num_train_epochs: 2", "weight_decay: 0.0", "adam_beta2: 0.999", "per_device_train_batch_size: 8", "max_length: 1024",
		"use_peft: true", "lora_r: 4", `lora_target_modules: ["c_attn", "attn.c_proj"]`, `eval_file: "eval.jsonl"`} {
		if !strings.Contains(string(yaml), want+"\n") {
			t.Errorf("config.yaml lacks %q:\n%s", want, yaml)
		}
	}
	if script, _ := os.ReadFile(filepath.Join(out, TRLScriptFile)); !strings.Contains(string(script), "DPOTrainer") {
		t.Error("no script")
	}
	back, btok, err := hf.Load(filepath.Join(out, TRLModelDir))
	if err != nil {
		t.Fatal(err)
	}
	if btok == nil || btok.VocabSize() != tok.VocabSize() {
		t.Fatal("tokenizer not exported")
	}
	toks := pairs[0].Prompt
	a, _ := m.Forward(toks, 1, len(toks), nil)
	a = slices.Clone(a)
	b, _ := back.Forward(toks, 1, len(toks), nil)
	if !slices.Equal(a, b) {
		t.Fatal("the exported checkpoint gives other logits")
	}
	// simpo and orpo go to CPOTrainer and ORPOTrainer.
	for loss, want := range map[string]string{LossSimPO: `trainer: "cpo"`, LossORPO: `trainer: "orpo"`} {
		c := DefaultDPOConfig()
		c.LossType = loss
		o := filepath.Join(dir, loss)
		if err := ExportTRLDPO(o, m, tok, pairs, nil, c, nil); err != nil {
			t.Fatal(err)
		}
		y, _ := os.ReadFile(filepath.Join(o, TRLConfigFile))
		if !strings.Contains(string(y), want) || strings.Contains(string(y), "eval_file") {
			t.Errorf("%s config:\n%s", loss, y)
		}
	}
}

func TestExportTRLSFT(t *testing.T) {
	tok := testTokenizer(t)
	dir := t.TempDir()
	path := writeLines(t, filepath.Join(dir, "s.jsonl"), chatRows(5, 1))
	exs, _, err := ReadSFTExamples([]string{path}, tok, 64, true)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "trl")
	if err := ExportTRLSFT(out, sftModel(t, tok.VocabSize(), 1), tok, exs, nil, DefaultSFTConfig(), nil); err != nil {
		t.Fatal(err)
	}
	rows := readJSONLines(t, filepath.Join(out, TRLTrainFile))
	if len(rows) != 5 || rows[0]["messages"] == nil {
		t.Fatalf("rows %v", rows)
	}
	y, _ := os.ReadFile(filepath.Join(out, TRLConfigFile))
	for _, want := range []string{`trainer: "sft"`, "assistant_only_loss: true", "learning_rate: 2.0e-05", "packing: false"} {
		if !strings.Contains(string(y), want+"\n") {
			t.Errorf("config.yaml lacks %q:\n%s", want, y)
		}
	}
}

func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}
