package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// TestDataAuditRejectsBadThresholds: a NaN or out-of-range threshold is a
// usage error (exit 2) naming the flag, before any file is read; it used
// to run, flag honest annotators (--alpha 2) or fail at the JSON encoder.
func TestDataAuditRejectsBadThresholds(t *testing.T) {
	for _, bad := range [][]string{{"--alpha", "NaN"}, {"--alpha", "2"}, {"--alpha", "-1"}, {"--min-effect", "NaN"},
		{"--spammer-below", "1.5"}, {"--min-drift", "-0.1"}, {"--windows", "-1"}} {
		_, err := runCLI(t, append([]string{"data", "audit", "-q", "--out", "", "no-such-file.jsonl"}, bad...)...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("data audit %s: %v (exit %d), want exit 2 naming %s", strings.Join(bad, " "), err, exitCode(err), bad[0])
		}
	}
}

// TestDataSynthRejectsBadCounts: negative or zero counts are usage errors
// and leave no output file (--items -5 used to write 9 rows, --honest -1
// to be ignored, and a failed check an empty file).
func TestDataSynthRejectsBadCounts(t *testing.T) {
	out := filepath.Join(t.TempDir(), "p.jsonl")
	for _, bad := range [][]string{{"--items", "0"}, {"--items", "-5"}, {"--labels-per-item", "0"}, {"--honest", "-1"},
		{"--cycles", "-1"}, {"--labels-per-item", "100"}} {
		_, err := runCLI(t, append([]string{"data", "synth", "-q", out}, bad...)...)
		if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), bad[0]) {
			t.Errorf("data synth %s: %v, want exit 2 naming %s", strings.Join(bad, " "), err, bad[0])
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("data synth %s left %s", strings.Join(bad, " "), out)
			os.Remove(out)
		}
	}
}
