package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/internal/modeldir"
	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// readInspectRun returns the only run under runs, checking its run.json
// kind, and its inspect.json.
func readInspectRun(t *testing.T, runs, kind string) (string, *interp.Result) {
	t.Helper()
	ents, err := os.ReadDir(runs)
	if err != nil || len(ents) != 1 {
		t.Fatalf("runs: %v %v", ents, err)
	}
	rd := filepath.Join(runs, ents[0].Name())
	meta, err := rundir.ReadMeta(rd)
	if err != nil || meta.Kind != kind {
		t.Fatalf("run.json: %+v %v", meta, err)
	}
	raw, err := os.ReadFile(filepath.Join(rd, interp.ResultFile))
	if err != nil {
		t.Fatal(err)
	}
	var res interp.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	return rd, &res
}

// inspectTestModel writes the small test LM to a fresh directory and loads
// it back: the directory, the model's path, the model and its tokenizer.
func inspectTestModel(t *testing.T) (dir, mdir string, m *model.Model, tok *tokenizer.Tokenizer) {
	t.Helper()
	dir = t.TempDir()
	mdir = filepath.Join(dir, "m")
	lmTestModel(t, mdir)
	m, tok, err := modeldir.Load(mdir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, mdir, m, tok
}

// inspect cache saves the filtered activations and gradients as
// safetensors, equal to interp.RunWithCache's.
func TestInspectCache(t *testing.T) {
	dir, mdir, m, tok := inspectTestModel(t)
	a, _ := tok.Token(40)
	b, _ := tok.Token(41)
	runs := filepath.Join(dir, "runs")
	out, err := runCLI(t, "inspect", "cache", "--model", mdir, "--prompt", "the answer is", "--names", "blocks.*.hook_resid_*",
		"--names", "re:attn\\.hook_z$", "--positions", "-1,0", "--grad-correct", a, "--grad-wrong", b, "--out", runs, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got cacheData
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ids := tok.Encode("the answer is")
	T := len(ids)
	want, err := interp.RunWithCache(m, ids, 1, T, interp.CacheOptions{
		Filter: interp.NamesFilter{Names: []string{"blocks.*.hook_resid_*", "re:attn\\.hook_z$"}, Positions: []int{-1, 0}},
		Metric: interp.LogitDiffMetric(-1, 40, 41)})
	if err != nil {
		t.Fatal(err)
	}
	rd, res := readInspectRun(t, runs, "inspect-cache")
	if got.File != filepath.Join(rd, "activations.safetensors") || res.Kind != "cache" || len(res.Tables) != 1 {
		t.Fatalf("file %q, result %+v", got.File, res)
	}
	tensors, meta, err := ckpt.ReadFile(got.File)
	if err != nil {
		t.Fatal(err)
	}
	// 4 activations (resid pre, mid, post, z) and their 4 gradients.
	if len(tensors) != 8 || len(got.Tensors) != 8 || meta["format"] == "" || !slices.Equal(got.Positions[0], []int{T - 1, 0}) {
		t.Fatalf("%d tensors, %d entries, meta %v, positions %v", len(tensors), len(got.Tensors), meta, got.Positions)
	}
	for _, ts := range tensors {
		var w *interp.Activation
		if name, ok := strings.CutPrefix(ts.Name, "grad/"); ok {
			w = want.Grads[name]
		} else {
			w = want.Get(ts.Name)
		}
		if w == nil || !slices.Equal(ts.Shape, w.Shape) || !slices.Equal(ts.Data, w.Data) {
			t.Fatalf("tensor %s %v differs from RunWithCache's", ts.Name, ts.Shape)
		}
	}
	if len(got.Metric) != 1 || math.Abs(got.Metric[0]-want.Metric) > 1e-6 {
		t.Fatalf("metric %v, want %g", got.Metric, want.Metric)
	}

	// Every hook point by default, the attention scores among them, whose
	// masked entries (-Inf) are counted apart so that the JSON stays valid.
	out, err = runCLI(t, "inspect", "cache", "--model", mdir, "--prompt", "the answer is", "--out", "", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var all cacheData
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(all.Tensors) != len(model.HookNames(m.Config)) {
		t.Fatalf("%d tensors cached by default, want every one of %d hook points", len(all.Tensors), len(model.HookNames(m.Config)))
	}
	for _, e := range all.Tensors {
		want := 0
		if strings.HasSuffix(e.Hook, "attn.hook_attn_scores") {
			want = m.Config.NumHeads * T * (T - 1) / 2
		}
		if e.NonFinite != want || math.IsInf(e.RMS, 0) || math.IsNaN(e.RMS) {
			t.Fatalf("%s: rms %g, %d non-finite values, want %d", e.Name, e.RMS, e.NonFinite, want)
		}
	}

	// Several prompts get prefixed names; --save writes elsewhere; --out ""
	// makes no run directory.
	save := filepath.Join(dir, "acts.safetensors")
	if _, err := runCLI(t, "inspect", "cache", "--model", mdir, "--prompt", "q z", "--prompt", "w", "--layers", "0",
		"--names", "*hook_mlp_out", "--save", save, "--out", ""); err != nil {
		t.Fatal(err)
	}
	tensors, _, err = ckpt.ReadFile(save)
	if err != nil || len(tensors) != 2 || tensors[0].Name != "0/blocks.0.hook_mlp_out" || tensors[1].Name != "1/blocks.0.hook_mlp_out" {
		t.Fatalf("%v %+v", err, tensors)
	}

	for _, args := range [][]string{
		{"--prompt", "x"},
		{"--model", mdir},
		{"--model", mdir, "--prompt", "x", "--names", "blocks.0.hook_nothing"},
		{"--model", mdir, "--prompt", "x", "--positions", "a"},
		{"--model", mdir, "--prompt", "x", "--layers", "5"},
		{"--model", mdir, "--prompt", "x", "--grad-correct", a},
	} {
		_, err := runCLI(t, append([]string{"inspect", "cache", "--out", ""}, args...)...)
		var ee *exitError
		if err == nil || !asExit(err, &ee) || ee.code != 2 {
			t.Errorf("%v: err %v, want exit 2", args, err)
		}
	}
}

func asExit(err error, ee **exitError) bool { return errors.As(err, ee) }

// inspect lens: one row per residual point, the last being the model's
// prediction; the run has the table and the target's series.
func TestInspectLens(t *testing.T) {
	dir, mdir, m, tok := inspectTestModel(t)
	target, _ := tok.Token(7)
	runs := filepath.Join(dir, "runs")
	out, err := runCLI(t, "inspect", "lens", "--model", mdir, "--prompt", "the answer is", "--target", target, "--top-k", "3", "--out", runs, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got lensData
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ids := tok.Encode("the answer is")
	logits, err := m.Forward(ids, 1, len(ids), nil)
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.VocabSize
	row := logits[(len(ids)-1)*V:]
	best := int32(0)
	for i, v := range row {
		if v > row[best] {
			best = int32(i)
		}
	}
	last := got.Rows[len(got.Rows)-1]
	if len(got.Rows) != 3 || last.Top[0].Token != best || len(last.TopTokens) != 3 || got.TargetID != 7 {
		t.Fatalf("lens %+v, model's top token %d", got, best)
	}
	_, res := readInspectRun(t, runs, "inspect-lens")
	if res.Kind != "lens" || len(res.Tables) != 1 || len(res.Tables[0].Rows) != 3 || len(res.Series) != 1 || res.Summary == "" {
		t.Fatalf("inspect.json %+v", res)
	}
	if _, err := runCLI(t, "inspect", "lens", "--model", mdir, "--prompt", "the", "--position", "9", "--out", ""); err == nil {
		t.Fatal("position 9 accepted")
	}
}

// inspect attribution: the parts sum to the logit difference, and the run
// has both heatmaps.
func TestInspectAttribution(t *testing.T) {
	dir, mdir, _, tok := inspectTestModel(t)
	a, _ := tok.Token(40)
	b, _ := tok.Token(41)
	runs := filepath.Join(dir, "runs")
	out, err := runCLI(t, "inspect", "attribution", "--model", mdir, "--prompt", "the answer is", "--correct", a, "--wrong", b, "--out", runs, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Total      float64     `json:"total"`
		SumOfParts float64     `json:"sum_of_parts"`
		Heads      [][]float64 `json:"heads"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Total == 0 || math.Abs(got.Total-got.SumOfParts) > 1e-4 || len(got.Heads) != 1 || len(got.Heads[0]) != 2 {
		t.Fatalf("attribution %+v", got)
	}
	_, res := readInspectRun(t, runs, "inspect-attribution")
	if res.Kind != "attribution" || len(res.Matrices) != 2 || len(res.Tables) != 1 {
		t.Fatalf("inspect.json %+v", res)
	}
	if _, err := runCLI(t, "inspect", "attribution", "--model", mdir, "--prompt", "the", "--correct", a, "--out", ""); err == nil {
		t.Fatal("no --wrong accepted")
	}
}

// inspect patch: matrices per hook and per head with the documented
// normalization; prompts of different lengths exit 2.
func TestInspectPatch(t *testing.T) {
	dir, mdir, _, tok := inspectTestModel(t)
	clean, corrupt := "the answer is 1", "the answer is 2"
	if len(tok.Encode(clean)) != len(tok.Encode(corrupt)) {
		t.Fatalf("test prompts differ in length: %v %v", tok.Encode(clean), tok.Encode(corrupt))
	}
	a, _ := tok.Token(40)
	b, _ := tok.Token(41)
	runs := filepath.Join(dir, "runs")
	out, err := runCLI(t, "inspect", "patch", "--model", mdir, "--clean", clean, "--corrupt", corrupt, "--correct", a, "--wrong", b, "--out", runs, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got patchData
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	T := len(got.CleanTokens)
	if len(got.Matrices) != 4 || got.CleanMetric == got.CorruptMetric || len(got.Matrices[0].Cols) != T || len(got.Matrices[3].Cols) != 2 {
		t.Fatalf("patch %+v", got)
	}
	// The first position is the same in both prompts: patching it does nothing.
	if v := got.Matrices[0].Values[0][0]; math.Abs(v) > 1e-4 {
		t.Fatalf("patching an unchanged first position gave %g", v)
	}
	_, res := readInspectRun(t, runs, "inspect-patch")
	if res.Kind != "patch" || len(res.Matrices) != 4 {
		t.Fatalf("inspect.json %+v", res)
	}
	_, err = runCLI(t, "inspect", "patch", "--model", mdir, "--clean", clean, "--corrupt", "the answer", "--correct", a, "--wrong", b, "--out", "")
	var ee *exitError
	if err == nil || !asExit(err, &ee) || ee.code != 2 {
		t.Fatalf("different lengths: %v", err)
	}
	out, err = runCLI(t, "inspect", "patch", "--model", mdir, "--clean", clean, "--corrupt", corrupt, "--correct", a, "--wrong", b,
		"--hook", "hook_resid_post", "--no-heads", "--out", "")
	if err != nil || !strings.Contains(out, "Patching blocks.{layer}.hook_resid_post") || strings.Contains(out, "head outputs") {
		t.Fatalf("%v\n%s", err, out)
	}
}
