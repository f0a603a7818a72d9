package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/prefs"
	"github.com/alignlab/alignlab/report"
)

// TestDataAuditReportUnsaved: a data audit whose run directory cannot be
// created has saved nothing, so it is an error for the command to fail
// with, not a warning that says the results are saved (and that --quiet
// hid).
func TestDataAuditReportUnsaved(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	err := dataAuditReport(&w, filepath.Join(blocker, "x"), 1, &prefs.Report{})
	if err == nil || !strings.Contains(err.Error(), "not saved") || !strings.Contains(err.Error(), filepath.Join(blocker, "x")) {
		t.Errorf("err = %v, want one saying nothing was saved under the --out path", err)
	}
	if strings.Contains(w.String(), "results are saved") {
		t.Errorf("claims the results are saved:\n%s", w.String())
	}
	// Where the directory can be made, the results are saved.
	root := filepath.Join(dir, "runs")
	if err := dataAuditReport(&w, root, 1, &prefs.Report{}); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(root, "*", report.DataAuditFile)); len(m) != 1 {
		t.Errorf("saved %v", m)
	}
}
