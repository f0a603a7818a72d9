package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/store"
)

func TestReportCommand(t *testing.T) {
	root := t.TempDir()
	db := filepath.Join(root, "alignlab.db")
	id := "lab-20261126-222727-seed1-quick"
	run := filepath.Join(root, id)
	if err := os.CopyFS(run, os.DirFS(filepath.Join("..", "..", "report", "testdata", "lab-quick"))); err != nil {
		t.Fatal(err)
	}

	// A directory, written where --out asks.
	out := filepath.Join(root, "elsewhere", "lab.html")
	got, err := runCLI(t, "report", run, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != out {
		t.Errorf("printed %q, want %q", got, out)
	}
	html, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(html), `data-chart="heatmap"`) {
		t.Fatalf("report at --out: %v", err)
	}
	if _, err := os.Stat(filepath.Join(run, "report.html")); !os.IsNotExist(err) {
		t.Error("--out should leave the run directory alone")
	}

	// A run id, found beside the database; the default output is in the run.
	got, err = runCLI(t, "report", id, "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Report string `json:"report"`
		Bytes  int64  `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(got), &res); err != nil || res.Report != filepath.Join(run, "report.html") || res.Bytes == 0 {
		t.Errorf("--json: %q (%v)", got, err)
	}

	// An audit known only to the store.
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	sum := audit.Summary{RunID: "audit-00aa11bb22cc", Target: "local", Pass: true,
		Probes: map[string]*audit.Report{"mirage": {Stat: audit.Stat{Estimate: 0.02, CILow: -0.01, CIHigh: 0.05, N: 50, Test: "Newcombe"}}}}
	raw, _ := json.Marshal(sum)
	ctx := context.Background()
	if _, err := st.StartRun(ctx, store.Run{ID: sum.RunID, Target: "local", Model: "m", Config: `{"seed":3}`}); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, sum.RunID, "done", string(raw)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	got, err = runCLI(t, "report", sum.RunID, "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != filepath.Join(root, sum.RunID, "report.html") {
		t.Errorf("audit report at %q, want in runs/<run id>/", got)
	}

	// Unknown runs are exit code 2 with a hint.
	_, err = runCLI(t, "report", "lab-nosuch", "--db", db)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "runs ls") {
		t.Errorf("unknown run: code %d, %v", exitCode(err), err)
	}
}
