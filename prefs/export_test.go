package prefs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportCleanRefusesAnInput: an export (or its manifest) written over
// an audited file is refused, and the file keeps its bytes.
func TestExportCleanRefusesAnInput(t *testing.T) {
	path, _ := writeSynthFile(t, SynthConfig{Seed: 2, Items: 200})
	dir := filepath.Dir(path)
	manifestIn := filepath.Join(dir, "c.manifest.json") // an input named like c.jsonl's manifest
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifestIn, data, 0o644); err != nil {
		t.Fatal(err)
	}
	au, err := Run(context.Background(), []string{path, manifestIn}, Options{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{path, "./" + filepath.Base(path), filepath.Join(dir, "c.jsonl")} {
		t.Run(out, func(t *testing.T) {
			t.Chdir(dir)
			_, err := au.ExportClean(context.Background(), out)
			if err == nil || !strings.Contains(err.Error(), "one of the inputs") {
				t.Fatalf("export to %s: %v, want a refusal", out, err)
			}
			for _, f := range []string{path, manifestIn} {
				if got, _ := os.ReadFile(f); !bytes.Equal(got, data) {
					t.Errorf("%s changed", f)
				}
			}
		})
	}
}
