package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/interp"
)

// prependBOM rewrites path with a UTF-8 byte order mark in front, as an
// editor on Windows saves it.
func prependBOM(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte("\xef\xbb\xbf"), data...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A run whose JSON files were opened and saved in an editor still reports.
func TestReportReadsFilesWithBOM(t *testing.T) {
	dir := writeInspectRun(t, testInspectResult())
	prependBOM(t, filepath.Join(dir, interp.ResultFile))
	prependBOM(t, filepath.Join(dir, rundir.MetaFile))
	p, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	if html := render(t, p); !strings.Contains(html, "Paris") || !strings.Contains(html, "alignlab inspect patch") {
		t.Error("report lacks the inspect result or the run's command")
	}

	rl := filepath.Join(t.TempDir(), "organism-seed1-rlhf.jsonl")
	if err := os.WriteFile(rl, []byte("\xef\xbb\xbf{\"step\": 1}\n{\"step\": 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pts, err := readRLPoints(rl); err != nil || len(pts) != 2 {
		t.Errorf("RL points with a byte order mark: %d, %v", len(pts), err)
	}
	if err := os.WriteFile(rl, []byte("{\"step\": 1}\n{\"step\": \""+strings.Repeat("x", 1<<20)+"\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readRLPoints(rl); err == nil || err.Error() != rl+" line 2: longer than the 1 MiB line limit" {
		t.Errorf("over-long RL point: %v", err)
	}
}
