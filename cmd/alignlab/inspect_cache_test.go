package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectCacheRefusesSaveOverModel: --save naming one of the model's
// files exits 2 before the model is run, and the model keeps its bytes.
func TestInspectCacheRefusesSaveOverModel(t *testing.T) {
	dir, mdir, _, _ := inspectTestModel(t)
	runs := filepath.Join(dir, "runs")
	for _, name := range []string{"model.safetensors", "config.json", "tokenizer.json"} {
		save := filepath.Join(mdir, name)
		want, err := os.ReadFile(save)
		if err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{"", runs} {
			_, err := runCLI(t, "inspect", "cache", "--model", mdir, "--prompt", "the answer is",
				"--names", "blocks.0.hook_resid_post", "--save", save, "--out", out)
			if exitCode(err) != 2 || !strings.Contains(err.Error(), "--save "+save+" is one of the inputs (the model's") {
				t.Errorf("--save %s --out %q: exit %d (%v), want 2 and a refusal", name, out, exitCode(err), err)
			}
			if got, _ := os.ReadFile(save); !bytes.Equal(got, want) {
				t.Fatalf("--save %s --out %q: the model's file changed", name, out)
			}
		}
	}
	if _, err := os.Stat(runs); !os.IsNotExist(err) {
		t.Errorf("a refused cache wrote a run directory")
	}
}
