package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --export-trl into a directory where its files would replace the run's
// data or model is refused before anything is written; beside them it
// works.
func TestExportTRLRefusesInputs(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	lmTestModel(t, base)
	data := filepath.Join(dir, "train.jsonl")
	row := `{"messages":[{"role":"user","content":"q z"},{"role":"assistant","content":"1 2 3 4"}]}` + "\n"
	os.WriteFile(data, []byte(strings.Repeat(row, 8)), 0o644)
	weights, _ := os.ReadFile(filepath.Join(base, "model.safetensors"))
	for _, c := range []struct{ out, msg string }{
		{dir, "would write " + data + ", one of the inputs (a data file)"},
		{filepath.Dir(base) + "/../" + filepath.Base(dir), "one of the inputs (a data file)"},
	} {
		_, _, err := runTrain(t, "sft", "--model", base, "--data", data, "--export-trl", c.out, "--export-only", "--run-dir", filepath.Join(dir, "runs", "x"))
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("--export-trl %s: %v, want %q", c.out, err, c.msg)
		}
	}
	// A model at EXPORT/model would be replaced by the exported one.
	exp := filepath.Join(dir, "exp")
	lmTestModel(t, filepath.Join(exp, "model"))
	_, _, err := runTrain(t, "sft", "--model", filepath.Join(exp, "model"), "--data", data, "--export-trl", exp, "--export-only", "--run-dir", filepath.Join(dir, "runs", "z"))
	if err == nil || !strings.Contains(err.Error(), "model.safetensors, one of the inputs") {
		t.Errorf("--export-trl over the model's own directory: %v, want it refused", err)
	}
	if got, _ := os.ReadFile(data); string(got) != strings.Repeat(row, 8) {
		t.Error("the data file changed")
	}
	if got, _ := os.ReadFile(filepath.Join(base, "model.safetensors")); string(got) != string(weights) {
		t.Error("the model changed")
	}
	if _, stderr, err := runTrain(t, "sft", "--model", base, "--data", data, "--export-trl", filepath.Join(dir, "trl"), "--export-only", "--run-dir", filepath.Join(dir, "runs", "y")); err != nil {
		t.Fatalf("--export-trl beside the inputs: %v\n%s", err, stderr)
	}
}
