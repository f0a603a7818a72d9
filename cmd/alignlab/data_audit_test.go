package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataAuditRefusesExportOverInput: --export-clean naming an input file
// (or a path whose manifest is one) exits 2 before the audit runs: no
// report, no run directory, and every input keeps its bytes.
func TestDataAuditRefusesExportOverInput(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "same.jsonl")
	if _, err := runCLI(t, "data", "synth", "--items", "100", "--seed", "3", data); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	manifestIn := filepath.Join(dir, "c.manifest.json")
	if err := os.WriteFile(manifestIn, want, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(data, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		export string
		inputs []string
		msg    string
	}{
		{data, []string{data}, "--export-clean " + data + " is one of the inputs (an audited file)"},
		{link, []string{data}, "is one of the inputs (an audited file, " + data + ")"},
		{filepath.Join(dir, "c.jsonl"), []string{data, manifestIn}, "would write " + manifestIn + ", one of the inputs"},
	} {
		runs := filepath.Join(dir, "runs")
		args := append([]string{"data", "audit", "-q", "--out", runs, "--export-clean", c.export}, c.inputs...)
		out, err := runCLI(t, args...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "choose another path") {
			t.Errorf("export to %s: exit %d (%v), want 2 and %q", c.export, exitCode(err), err, c.msg)
		}
		if out != "" {
			t.Errorf("export to %s: printed a report before refusing: %.80q", c.export, out)
		}
		if _, err := os.Stat(runs); !os.IsNotExist(err) {
			t.Errorf("export to %s: wrote a run directory before refusing", c.export)
		}
		for _, f := range c.inputs {
			if got, _ := os.ReadFile(f); !bytes.Equal(got, want) {
				t.Errorf("export to %s: input %s changed", c.export, f)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "same.manifest.json")); !os.IsNotExist(err) {
			t.Errorf("export to %s: wrote a manifest", c.export)
		}
	}
}

// TestReportOutRefusesRunFiles: 'report RUN --out' naming one of the run's
// own files (a data audit's data_audit.json) exits 2 and leaves it; the
// run's report.html and a file elsewhere are written as before.
func TestReportOutRefusesRunFiles(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "p.jsonl")
	if _, err := runCLI(t, "data", "synth", "--items", "100", "--seed", "3", data); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "runs")
	if _, err := runCLI(t, "data", "audit", "-q", "--out", runs, data); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(runs)
	if err != nil || len(ents) != 1 {
		t.Fatalf("runs: %v %v", ents, err)
	}
	run := filepath.Join(runs, ents[0].Name())
	for _, name := range []string{"data_audit.json", "run.json"} {
		p := filepath.Join(run, name)
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = runCLI(t, "report", run, "--out", p)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "--out "+p+" is one of the inputs (a file of run "+run+")") {
			t.Errorf("report --out %s: exit %d (%v), want 2 and a refusal", name, exitCode(err), err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
			t.Errorf("report --out %s: the run's file changed", name)
		}
	}
	for _, out := range []string{filepath.Join(run, "report.html"), filepath.Join(run, "again.html"), filepath.Join(dir, "r.html")} {
		if _, err := runCLI(t, "report", run, "--out", out); err != nil {
			t.Errorf("report --out %s: %v", out, err)
		}
	}
}
