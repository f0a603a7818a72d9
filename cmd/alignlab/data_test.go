package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// TestDataAuditJSONSchema checks the documented --json keys a script or
// the lab depends on, end to end through the CLI.
func TestDataAuditJSONSchema(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "p.jsonl")
	if _, err := runCLI(t, "data", "synth", "--items", "600", "--seed", "3", data); err != nil {
		t.Fatal(err)
	}
	clean := filepath.Join(dir, "clean.jsonl")
	out, err := runCLI(t, "data", "audit", "-q", "--out", t.TempDir(), "--json", "--export-clean", clean, data)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output is not JSON: %v", err)
	}
	for _, k := range []string{"rows", "invalid", "duplicates", "contradictions", "cycles", "annotators", "biases", "agreement", "drift", "counts"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("missing key %q", k)
		}
	}
	for _, k := range []string{"invalid", "duplicates", "contradictions", "cycles", "annotators"} {
		if _, ok := rep[k].([]any); !ok {
			t.Errorf("%q is not a list", k)
		}
	}
	anns := rep["annotators"].([]any)
	if len(anns) != 30 {
		t.Fatalf("%d annotators, want 30", len(anns))
	}
	a := anns[0].(map[string]any)
	for _, k := range []string{"id", "n", "skill", "flags", "drift"} {
		if _, ok := a[k]; !ok {
			t.Errorf("annotator missing key %q", k)
		}
	}
	d := a["drift"].(map[string]any)
	for _, k := range []string{"detected", "change_time"} {
		if _, ok := d[k]; !ok {
			t.Errorf("annotator drift missing key %q", k)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "clean.manifest.json")); err != nil {
		t.Errorf("manifest: %v", err)
	}
	if _, err := runCLI(t, "data", "audit", "--format", "nope", data); err == nil {
		t.Error("an unknown --format was accepted")
	}
	if _, err := runCLI(t, "data", "audit", filepath.Join(dir, "missing.jsonl")); err == nil {
		t.Error("a missing file was accepted")
	}
}

func TestDataAuditText(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "p.jsonl")
	if _, err := runCLI(t, "data", "synth", "--items", "400", data); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "data", "audit", "-q", "--out", t.TempDir(), data)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"valid rows", "duplicates:", "contradictions:", "cycles:", "Krippendorff", "annotators", "flags"} {
		if !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("text summary lacks %q", want)
		}
	}
}
