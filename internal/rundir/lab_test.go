package rundir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDiffLab(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, LabSummaryFile), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := write("a", `{"id":"a","validity":{"sycophancy":{"sycophant":{"flagged":true,"estimate":0.4,"ci_low":0.3,"ci_high":0.5},
		"clean":{"flagged":false,"estimate":0.05,"ci_low":0.01,"ci_high":0.1}}},"validity_check":{"pass":true},
		"trilemma":{"dpo":{"optimization":0.8,"value_capture":0.6,"generalization":0.5,"n":90}}}`)
	b := write("b", `{"id":"b","validity":{"sycophancy":{"sycophant":{"flagged":true,"estimate":0.45,"ci_low":0.35,"ci_high":0.55},
		"clean":{"flagged":true,"estimate":0.2,"ci_low":0.12,"ci_high":0.3}},"mirage":{"mirage":{"flagged":true,"estimate":0.3}}},
		"validity_check":{"pass":false},"trilemma":{"dpo":{"optimization":0.7,"value_capture":0.65,"generalization":0.5,"n":90},"ppo":{}}}`)
	sa, err := ReadLabSummary(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := ReadLabSummary(b)
	if err != nil {
		t.Fatal(err)
	}
	d := DiffLab(sa, sb)
	if !d.ValidityA || d.ValidityB {
		t.Errorf("validity verdicts %v %v", d.ValidityA, d.ValidityB)
	}
	want := []struct {
		det, org         string
		flagChanged, sep bool
		hasA, hasB       bool
	}{
		{"mirage", "mirage", true, false, false, true},
		{"sycophancy", "clean", true, true, true, true},
		{"sycophancy", "sycophant", false, false, true, true},
	}
	if len(d.Cells) != len(want) {
		t.Fatalf("%d cells, want %d: %+v", len(d.Cells), len(want), d.Cells)
	}
	for i, w := range want {
		c := d.Cells[i]
		if c.Detector != w.det || c.Organism != w.org || c.FlagChanged != w.flagChanged || c.Separate != w.sep || (c.A != nil) != w.hasA || (c.B != nil) != w.hasB {
			t.Errorf("cell %d = %+v, want %+v", i, c, w)
		}
	}
	if len(d.Trilemma) != 2 || d.Trilemma[0].Policy != "dpo" || d.Trilemma[0].Delta[0] > -0.099 || d.Trilemma[1].A != nil {
		t.Errorf("trilemma diff %+v", d.Trilemma)
	}
	if _, err := ReadLabSummary(dir); err == nil {
		t.Error("a directory without summary.json read as a lab run")
	}
}
