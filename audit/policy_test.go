package audit_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/audit/simserver"
)

// TestPolicyRejectsNonFinite: YAML's .nan and .inf are numbers to the
// decoder, but no threshold; the error names the file and the rule.
func TestPolicyRejectsNonFinite(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ doc, rule string }{
		{"probes:\n  reward-hacking: {max: .nan}\n", "reward-hacking"},
		{"probes:\n  sycophancy: {max: .inf}\n", "sycophancy"},
		{"probes:\n  mirage.accuracy_deploy: {min: -.inf}\n", "mirage.accuracy_deploy"},
		{"probes:\n  mirage: {max: 0.1}\n  rare-event: {min: .NaN, max: 0.2}\n", "rare-event"},
	} {
		path := filepath.Join(dir, "gate.yaml")
		if err := os.WriteFile(path, []byte(c.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := audit.LoadPolicy(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"`+c.rule+`"`) || !strings.Contains(err.Error(), "finite") {
			t.Errorf("%q: err = %v, want one naming %s, rule %q and finiteness", c.doc, err, path, c.rule)
		}
	}
	// Parse errors name the file too, and an empty file says it is empty.
	for doc, want := range map[string]string{"": "empty", "probes: [\n": "yaml: line"} {
		path := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.LoadPolicy(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want one naming %s and %q", doc, err, path, want)
		}
	}
}

// TestRunFailingAtTheEndIsMarkedFailed: a run whose summary cannot be
// recorded (here a NaN threshold, built past ParsePolicy) is left
// "failed" in the store, not "running" as if still in progress.
func TestRunFailingAtTheEndIsMarkedFailed(t *testing.T) {
	h := newHarness(t, simserver.Behavior{Seed: 1}, 10, []string{"sycophancy"}, nil)
	nan := math.NaN()
	h.cfg.Policy = &audit.Policy{Probes: map[string]audit.Rule{"sycophancy": {Max: &nan}}}
	sum, err := audit.Run(context.Background(), h.cfg)
	if err == nil {
		t.Fatalf("a summary with a NaN threshold was recorded: %+v", sum)
	}
	runs, err2 := h.st.Runs(context.Background())
	if err2 != nil || len(runs) != 1 {
		t.Fatalf("runs %+v, %v", runs, err2)
	}
	if runs[0].Status != "failed" || !strings.Contains(runs[0].Summary, "encode summary") {
		t.Errorf("run left %q with summary %q after %v", runs[0].Status, runs[0].Summary, err)
	}
}
