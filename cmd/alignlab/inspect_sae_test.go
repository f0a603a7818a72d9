package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/interp/sae"
)

// inspect sae train then eval on a tiny model: the run directory holds
// run.json, inspect.json (curves, metrics and examples tables), the SAE in
// SAELens's layout and every latent's examples; eval of the saved SAE on
// the same model reads the same shape back; bad flags exit 2.
func TestInspectSAE(t *testing.T) {
	dir := t.TempDir()
	mdir := filepath.Join(dir, "m")
	lmTestModel(t, mdir)
	data := filepath.Join(dir, "texts.jsonl")
	var lines []string
	for i, s := range []string{"the answer is 1 2 3 4", "q z w q z w", "the answer is 4 3", "w q z the answer"} {
		for j := 0; j < 10; j++ {
			if (i+j)%3 == 0 {
				lines = append(lines, `{"prompt": "`+s+`", "completion": " 1 2 3"}`)
			} else if (i+j)%3 == 1 {
				lines = append(lines, `{"text": "`+s+` q"}`)
			} else {
				lines = append(lines, s)
			}
		}
	}
	if err := os.WriteFile(data, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "runs")
	out, err := runCLI(t, "inspect", "sae", "train", "--model", mdir, "--data", data, "--hook", "blocks.0.hook_resid_post",
		"--d-sae", "64", "--k", "4", "--steps", "30", "--batch", "64", "--out", runs, "--json", "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	var rep sae.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.DIn != 32 || rep.DSae != 64 || rep.K != 4 || rep.Architecture != sae.TopK || rep.Eval.N == 0 || rep.CE.Tokens == 0 ||
		rep.TrainTokens == 0 || len(rep.Curve) == 0 || len(rep.Latents) == 0 || rep.Eval.L0 > 4 {
		t.Fatalf("report %+v", rep)
	}
	ents, err := os.ReadDir(runs)
	if err != nil || len(ents) != 1 {
		t.Fatalf("runs: %v %v", ents, err)
	}
	rd := filepath.Join(runs, ents[0].Name())
	if meta, err := rundir.ReadMeta(rd); err != nil || meta.Kind != "inspect-sae" {
		t.Fatalf("run.json: %+v %v", meta, err)
	}
	for _, f := range []string{"sae/cfg.json", "sae/sae_weights.safetensors", "top_examples.json", interp.ResultFile} {
		if _, err := os.Stat(filepath.Join(rd, f)); err != nil {
			t.Error(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(rd, interp.ResultFile))
	if err != nil {
		t.Fatal(err)
	}
	var res interp.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.Kind != "sae" || len(res.Series) != 4 || len(res.Tables) != 2 || !strings.Contains(res.Summary, "CE loss recovered") {
		t.Errorf("inspect.json: kind %q, %d series, %d tables, summary %q", res.Kind, len(res.Series), len(res.Tables), res.Summary)
	}

	out, err = runCLI(t, "inspect", "sae", "eval", "--sae", filepath.Join(rd, "sae"), "--model", mdir, "--data", data, "--out", "", "--json", "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	var ev sae.Report
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if ev.Hook != "blocks.0.hook_resid_post" || ev.DSae != 64 || ev.K != 4 || ev.EvalTokens <= rep.EvalTokens {
		t.Errorf("eval report %+v", ev)
	}

	for _, args := range [][]string{
		{"train", "--model", mdir, "--data", data},
		{"train", "--model", mdir, "--data", data, "--hook", "blocks.0.hook_resid_post", "--arch", "gated"},
		{"train", "--model", mdir, "--data", data, "--hook", "blocks.9.hook_resid_post", "--out", ""},
		{"train", "--model", mdir, "--data", filepath.Join(dir, "missing.txt"), "--hook", "blocks.0.hook_resid_post"},
		{"eval", "--sae", dir, "--model", mdir, "--data", data},
		{"train", "--model", mdir, "--data", data, "--hook", "blocks.0.hook_resid_post", "--top", "-1"},
		{"train", "--model", mdir, "--data", data, "--hook", "blocks.0.hook_resid_post", "--show", "-2"},
		{"eval", "--sae", dir, "--model", mdir, "--data", data, "--window", "-1"},
	} {
		_, err := runCLI(t, append([]string{"inspect", "sae"}, args...)...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 {
			t.Errorf("%v: got %v, want exit 2", args, err)
		}
	}
}

// TestInspectSAETrainRejectsBadValues: values that used to train on a
// handful of tokens (--eval-frac 1), misreport the batch (--batch 0) or
// reward activation (--l1 -1) are usage errors before any work.
func TestInspectSAETrainRejectsBadValues(t *testing.T) {
	for _, bad := range [][]string{{"--eval-frac", "1"}, {"--eval-frac", "-1"}, {"--eval-frac", "0"}, {"--batch", "0"}, {"--l1", "-1"}} {
		_, err := runCLI(t, append([]string{"inspect", "sae", "train", "-q", "--model", "no-such-dir", "--data", "no-such.txt",
			"--hook", "blocks.0.hook_resid_post", "--out", ""}, bad...)...)
		if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), bad[0]) {
			t.Errorf("%s %s: %v, want exit 2 naming %s", bad[0], bad[1], err, bad[0])
		}
	}
}
