package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/audit/simserver"
	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/lab"
)

// swappable serves whichever simulated model is current, so that two
// audits see the same endpoint and model name but different behaviour.
type swappable struct{ h atomic.Pointer[http.Handler] }

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }

func (s *swappable) set(t *testing.T, b simserver.Behavior, n int, seed int64) {
	t.Helper()
	ds, err := audit.Bank(n, seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim := simserver.New(b, nil)
	opts := audit.Options{Dataset: ds, Seed: seed}
	p, _ := audit.ProbeByName("sycophancy")
	tasks, err := p.Tasks(context.Background(), &opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		sim.Learn(tk.Sample)
	}
	h := sim.Handler()
	s.h.Store(&h)
}

// Two audits of one model, before and after it turned sycophantic, a
// third of another model, and a lab summary: ls lists them, show prints
// the probe with its CI and the command, diff says sycophancy moved beyond
// its interval, and refuses another model without --force.
func TestRunsHistory(t *testing.T) {
	dir := t.TempDir()
	runsDir := filepath.Join(dir, "runs")
	db := filepath.Join(runsDir, "alignlab.db")
	var sw swappable
	srv := httptest.NewServer(&sw)
	t.Cleanup(srv.Close)
	// An unknown flag is a usage error: exit 2, and the message names --help.
	if _, err := runCLI(t, "audit", "--target", srv.URL+"/v1", "--api-key", "x"); exitCode(err) != 2 || !strings.Contains(err.Error(), "--help") {
		t.Fatalf("unknown flag: exit %d (%v), want 2 and a pointer to --help", exitCode(err), err)
	}
	audit := func(id, model string) {
		t.Helper()
		out, err := runCLI(t, "audit", "--target", srv.URL+"/v1", "--model", model, "--n", "60", "--seed", "3",
			"--probes", "sycophancy", "--db", db, "--run-id", id, "--no-cache", "--quiet")
		if c := exitCode(err); c == 2 {
			t.Fatalf("audit %s: exit 2 (%v)\n%s", id, err, out)
		}
	}
	sw.set(t, simserver.Behavior{Seed: 1}, 60, 3)
	audit("audit-before", "sim")
	sw.set(t, simserver.Behavior{Seed: 1, FlipProb: 0.7}, 60, 3)
	audit("audit-after", "sim")
	audit("audit-other", "other")

	// A lab run directory, written the way lab.Run and the lab command do.
	labDir := filepath.Join(runsDir, "lab-20261126-000000-seed1-quick")
	os.MkdirAll(labDir, 0o755)
	seed := uint64(1)
	if err := rundir.WriteMeta(labDir, rundir.Meta{ID: filepath.Base(labDir), Kind: "lab", Command: []string{"alignlab", "lab", "--quick"}, Seed: &seed}); err != nil {
		t.Fatal(err)
	}
	sum := lab.Summary{ID: filepath.Base(labDir), Seed: 1, Quick: true,
		Validity: map[string]map[string]lab.Cell{"sycophancy": {"sycophant": {Flagged: true, Estimate: 0.4, CILow: 0.3, CIHigh: 0.5}}},
		Trilemma: map[string]lab.TrilemmaScore{"dpo": {Optimization: 0.8, ValueCapture: 0.6, Generalization: 0.5}}}
	sum.ValidityCheck.Pass = true
	data, _ := json.Marshal(sum)
	os.WriteFile(filepath.Join(labDir, rundir.LabSummaryFile), data, 0o644)
	// The lab's own types decode into the history's view of them.
	ls, err := rundir.ReadLabSummary(labDir)
	if err != nil || !ls.Validity["sycophancy"]["sycophant"].Flagged || ls.Trilemma["dpo"].ValueCapture != 0.6 || !ls.ValidityCheck.Pass {
		t.Fatalf("lab summary as history reads it: %+v, %v", ls, err)
	}

	out, err := runCLI(t, "runs", "ls", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []runEntry
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("runs ls --json: %v\n%s", err, out)
	}
	kinds := map[string]string{}
	for _, e := range list {
		kinds[e.ID] = e.Kind + "/" + e.Status
	}
	for id, want := range map[string]string{"audit-before": "audit/done", "audit-after": "audit/done", "audit-other": "audit/done", filepath.Base(labDir): "lab/done"} {
		if kinds[id] != want {
			t.Errorf("runs ls: %s is %q, want %q (all: %v)", id, kinds[id], want, kinds)
		}
	}
	// Without the store, the audits' directories (run.json, audit.json)
	// still list them, and diff reads audit.json.
	out, err = runCLI(t, "runs", "ls", "--db", filepath.Join(dir, "none.db"), "--dir", runsDir, "--kind", "audit", "--json")
	if err != nil || strings.Count(out, `"status": "done"`) != 3 || !strings.Contains(out, "FAIL sycophancy") {
		t.Errorf("audits from their directories (%v):\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("runs ls created a database")
	}
	if _, err = runCLI(t, "runs", "diff", "audit-before", "audit-after", "--db", filepath.Join(dir, "none.db"), "--dir", runsDir); err != nil {
		t.Errorf("diff from audit.json: %v", err)
	}
	out, err = runCLI(t, "runs", "ls", "--db", db)
	if err != nil || !strings.Contains(out, "FAIL sycophancy") || !strings.Contains(out, "validity check passes") {
		t.Errorf("runs ls table (%v):\n%s", err, out)
	}

	out, err = runCLI(t, "runs", "show", "audit-after", "--db", db)
	if err != nil || !strings.Contains(out, "sycophancy") || !strings.Contains(out, "alignlab") || !strings.Contains(out, "seed     3") {
		t.Errorf("runs show (%v):\n%s", err, out)
	}
	if _, err := runCLI(t, "runs", "show", "audit-", "--db", db); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("an ambiguous prefix: %v", err)
	}
	if _, err := runCLI(t, "runs", "show", "nosuch", "--db", db); exitCode(err) != 2 || !strings.Contains(err.Error(), "runs ls") {
		t.Errorf("an unknown run: %v", err)
	}

	out, err = runCLI(t, "runs", "diff", "audit-before", "audit-after", "--db", db, "--json")
	if err != nil {
		t.Fatalf("runs diff: %v", err)
	}
	var d auditDiff
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("runs diff --json: %v\n%s", err, out)
	}
	var syco *struct{ moved, overlap bool }
	for _, m := range d.Moves {
		if m.Name == "sycophancy" {
			syco = &struct{ moved, overlap bool }{m.Moved, m.Overlap}
			if m.Delta < 0.3 || m.DeltaLow <= 0 {
				t.Errorf("sycophancy moved by %.3f [%.3f, %.3f]; the planted flip rate is 0.7", m.Delta, m.DeltaLow, m.DeltaHigh)
			}
			if m.FlagA || !m.FlagB {
				t.Errorf("gate verdicts %v -> %v, want pass -> FAIL", m.FlagA, m.FlagB)
			}
		}
	}
	if syco == nil || !syco.moved {
		t.Fatalf("sycophancy did not move: %s", out)
	}
	if d.Method != "" && !strings.Contains(d.Method, "MOVER") {
		t.Errorf("method %q", d.Method)
	}
	// Against itself nothing moves.
	out, err = runCLI(t, "runs", "diff", "audit-before", "audit-before", "--db", db)
	if err != nil || !strings.Contains(out, "0 of ") {
		t.Errorf("a run against itself (%v):\n%s", err, out)
	}
	out, err = runCLI(t, "runs", "diff", "audit-before", "audit-after", "--db", db)
	if err != nil || !strings.Contains(out, "yes") || !strings.Contains(out, "pass -> FAIL") {
		t.Errorf("runs diff table (%v):\n%s", err, out)
	}
	_, err = runCLI(t, "runs", "diff", "audit-before", "audit-other", "--db", db)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--force") {
		t.Errorf("different models: %v, want a refusal naming --force", err)
	}
	if _, err = runCLI(t, "runs", "diff", "audit-before", "audit-other", "--db", db, "--force"); err != nil {
		t.Errorf("--force: %v", err)
	}
	if _, err = runCLI(t, "runs", "diff", "audit-before", filepath.Base(labDir), "--db", db); exitCode(err) != 2 {
		t.Errorf("an audit against a lab run: %v", err)
	}
	if os.Getenv("RUNS_PRINT") != "" { // a look at the tables: RUNS_PRINT=1 go test -run TestRunsHistory -v
		for _, args := range [][]string{{"ls"}, {"show", "audit-after"}, {"diff", "audit-before", "audit-after"}} {
			o, _ := runCLI(t, append(append([]string{"runs"}, args...), "--db", db)...)
			t.Logf("runs %v:\n%s", args, o)
		}
	}
	out, err = runCLI(t, "runs", "diff", labDir, labDir, "--db", db, "--all")
	if err != nil || !strings.Contains(out, "sycophant") || !strings.Contains(out, "dpo") {
		t.Errorf("lab diff (%v):\n%s", err, out)
	}
}

// A training run writes run.json (kind, seed) and 'runs ls' shows its
// model and last loss; a missing model leaves no run directory behind.
func TestTrainRunMeta(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	lmTestModel(t, base)
	data := filepath.Join(dir, "sft.jsonl")
	var rows []string
	for range 8 {
		rows = append(rows, `{"messages":[{"role":"user","content":"q z"},{"role":"assistant","content":"1 2 3 4"}]}`)
	}
	os.WriteFile(data, []byte(strings.Join(rows, "\n")+"\n"), 0o644)
	runsDir := filepath.Join(dir, "runs")
	run := filepath.Join(runsDir, "sft-1")
	if _, stderr, err := runTrain(t, "sft", "--model", base, "--data", data, "--run-dir", run, "--max-steps", "2",
		"--per-device-train-batch-size", "4", "--logging-steps", "1", "--seed", "5"); err != nil {
		t.Fatalf("train sft: %v\n%s", err, stderr)
	}
	m, err := rundir.ReadMeta(run)
	if err != nil || m.Kind != "train-sft" || m.Seed == nil || *m.Seed != 5 || m.ID != "sft-1" {
		t.Fatalf("run.json: %+v, %v", m, err)
	}
	if _, _, err := runTrain(t, "sft", "--model", filepath.Join(dir, "nosuch"), "--data", data, "--run-dir", filepath.Join(runsDir, "typo")); err == nil ||
		!strings.Contains(err.Error(), "model directory") {
		t.Errorf("a missing model: %v", err)
	}
	if _, err := os.Stat(filepath.Join(runsDir, "typo")); err == nil {
		t.Error("a missing model left a run directory")
	}
	// An unusable option fails before the run directory is made too.
	if _, _, err := runTrain(t, "sft", "--model", base, "--data", data, "--run-dir", filepath.Join(runsDir, "badflag"),
		"--per-device-train-batch-size", "0"); err == nil || !strings.Contains(err.Error(), "per_device_train_batch_size") {
		t.Errorf("batch size 0: %v", err)
	}
	if _, err := os.Stat(filepath.Join(runsDir, "badflag")); err == nil {
		t.Error("an unusable option left a run directory")
	}
	// So does a failure while the command sets up, after the directory is
	// made: a model without its tokenizer, data with no usable example.
	noTok := filepath.Join(dir, "notok")
	lmTestModel(t, noTok)
	if err := os.Remove(filepath.Join(noTok, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, []byte(`{"messages":[{"role":"user","content":"q"}]}`+"\n"), 0o644)
	for name, args := range map[string][]string{"notok": {"--model", noTok, "--data", data}, "nodata": {"--model", base, "--data", empty}} {
		if _, _, err := runTrain(t, append([]string{"sft"}, append(args, "--run-dir", filepath.Join(runsDir, name))...)...); err == nil {
			t.Errorf("%s: trained", name)
		}
		if _, err := os.Stat(filepath.Join(runsDir, name)); err == nil {
			t.Errorf("%s: a failed set-up left a run directory", name)
		}
	}
	out, err := runCLI(t, "runs", "ls", "--dir", runsDir, "--db", filepath.Join(dir, "none.db"), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []runEntry
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("runs ls: %v\n%s", err, out)
	}
	if e := list[0]; e.Kind != "train-sft" || e.Subject != base || e.Status != "done" || !strings.HasPrefix(e.Headline, "loss ") {
		t.Errorf("train run listed as %+v", e)
	}
	// A kind that matches none of the runs says so, rather than that
	// there are no runs at all; a negative --limit is a usage error.
	root := newRootCmd()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs([]string{"runs", "ls", "--dir", runsDir, "--db", filepath.Join(dir, "none.db"), "--kind", "bogus"})
	if err := root.Execute(); err != nil || !strings.Contains(stderr.String(), `no runs of kind "bogus" among the 1`) {
		t.Errorf("runs ls --kind bogus: %v, stderr %q", err, stderr.String())
	}
	if _, err := runCLI(t, "runs", "ls", "--dir", runsDir, "--limit", "-1"); exitCode(err) != 2 {
		t.Errorf("runs ls --limit -1: %v, want exit 2", err)
	}
}
