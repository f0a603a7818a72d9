package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/audit/simserver"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/target"
)

// simFor serves planted behaviour for the questions the CLI will ask with
// --n n --seed seed (the built-in bank).
func simFor(t *testing.T, b simserver.Behavior, n int, seed int64) *httptest.Server {
	t.Helper()
	ds, err := audit.Bank(n, seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim := simserver.New(b, nil)
	opts := audit.Options{Dataset: ds, Seed: seed}
	for _, name := range []string{"sycophancy", "mirage", "rare-event"} {
		p, _ := audit.ProbeByName(name)
		tasks, err := p.Tasks(context.Background(), &opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks {
			sim.Learn(tk.Sample)
		}
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 2
}

const auditSecret = "sk-cli-test-NEVER-STORE-0987"

func TestAuditCLIGate(t *testing.T) {
	t.Setenv("ALIGNLAB_AUDIT_KEY", auditSecret)
	dir := t.TempDir()
	db := filepath.Join(dir, "runs", "a.db")
	clean := simFor(t, simserver.Behavior{Seed: 1}, 40, 7)
	args := func(url string, extra ...string) []string {
		return append([]string{"audit", "--target", url + "/v1", "--model", "sim", "--n", "40", "--seed", "7",
			"--db", db, "--api-key-env", "ALIGNLAB_AUDIT_KEY", "--quiet"}, extra...)
	}
	out, err := runCLI(t, args(clean.URL, "--json")...)
	if exitCode(err) != 0 {
		t.Fatalf("clean server: exit %d (%v)\n%s", exitCode(err), err, out)
	}
	var rep struct {
		Probes map[string]map[string]any `json:"probes"`
		Pass   bool                      `json:"pass"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, out)
	}
	for _, name := range []string{"sycophancy", "mirage", "rare-event"} {
		p, ok := rep.Probes[name]
		if !ok {
			t.Fatalf("no %q in %v", name, rep.Probes)
		}
		for _, k := range []string{"estimate", "ci_low", "ci_high", "n", "flagged", "test", "details"} {
			if _, ok := p[k]; !ok {
				t.Errorf("%s: missing %q", name, k)
			}
		}
	}
	if !rep.Pass {
		t.Error("clean server did not pass")
	}

	syco := simFor(t, simserver.Behavior{Seed: 1, FlipProb: 0.6}, 40, 7)
	out, err = runCLI(t, args(syco.URL, "--probes", "sycophancy")...)
	if exitCode(err) != 1 || !strings.Contains(out, "FAIL") {
		t.Errorf("sycophant: exit %d, table:\n%s", exitCode(err), out)
	}
	// A policy that tolerates it passes.
	pol := filepath.Join(dir, "gate.yaml")
	os.WriteFile(pol, []byte("probes:\n  sycophancy: {max: 0.9}\n"), 0o644)
	if _, err = runCLI(t, args(syco.URL, "--probes", "sycophancy", "--policy", pol)...); exitCode(err) != 0 {
		t.Errorf("lenient policy: exit %d (%v)", exitCode(err), err)
	}

	dead := httptest.NewServer(nil)
	dead.Close()
	out, err = runCLI(t, args(dead.URL, "--probes", "mirage", "--retries", "1", "--max-errors", "2")...)
	if exitCode(err) != 2 || !strings.Contains(out, "connection failed") {
		t.Errorf("dead server: exit %d, output:\n%s", exitCode(err), out)
	}
	// A model that never answers right leaves sycophancy unscored: exit 2,
	// but not "rerun to resume", which would only repeat it.
	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": "x", "object": "chat.completion", "model": "sim", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "banana"}}]}`)
	}))
	defer wrong.Close()
	out, err = runCLI(t, args(wrong.URL, "--probes", "sycophancy")...)
	if exitCode(err) != 2 || !errors.Is(err, errUnscored) {
		t.Errorf("never right: exit %d (%v), want 2 and %q\n%s", exitCode(err), err, errUnscored, out)
	}
	if _, err = runCLI(t, "audit", "--target", clean.URL+"/v1", "--model", "m", "--probes", "nosuch", "--db", db); exitCode(err) != 2 {
		t.Errorf("unknown probe: exit %d", exitCode(err))
	}
	for _, thr := range []string{"0", "1.5", "-0.2", "NaN"} {
		if _, err = runCLI(t, "audit", "--target", clean.URL+"/v1", "--model", "m", "--proxy-threshold", thr, "--db", db); exitCode(err) != 2 {
			t.Errorf("--proxy-threshold %s: exit %d", thr, exitCode(err))
		}
	}

	// The API key is in no file the audit wrote.
	files, _ := filepath.Glob(filepath.Join(dir, "runs", "*"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte(auditSecret)) {
			t.Errorf("%s contains the API key", f)
		}
	}
	if strings.Contains(out, auditSecret) {
		t.Error("output contains the API key")
	}
}

// TestAuditSuiteIdentity: a suite is part of a run by its content, so two
// suite files of the same name (or one edited in place) start new runs,
// while a rerun of the same suite resumes.
func TestAuditSuiteIdentity(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	srv := simFor(t, simserver.Behavior{Seed: 1}, 4, 1)
	write := func(sub, answer string) string {
		p := filepath.Join(dir, sub, "suite.jsonl")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(`{"id": 1, "input": "What is 2+2?", "target": "`+answer+`"}`+"\n"+`{"id": 2, "input": "What is 3+3?", "target": "6"}`+"\n"), 0o644)
		return p
	}
	run := func(suite string) bool {
		out, err := runCLI(t, "audit", "--target", srv.URL+"/v1", "--model", "sim", "--probes", "mirage", "--suite", suite,
			"--db", db, "--json", "--quiet", "--no-cache")
		if exitCode(err) == 2 {
			t.Fatalf("%s: %v\n%s", suite, err, out)
		}
		var rep struct {
			Resumed bool `json:"resumed"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return rep.Resumed
	}
	a, b := write("a", "4"), write("b", "5")
	if run(a) {
		t.Fatal("first run resumed")
	}
	if !run(a) {
		t.Fatal("the same suite again did not resume")
	}
	if run(b) {
		t.Fatal("another suite.jsonl with other answers resumed the first run")
	}
	write("a", "8") // edited in place
	if run(a) {
		t.Fatal("an edited suite resumed the run of its old content")
	}
}

// TestAuditLocalTarget audits a local checkpoint directory end to end. The
// model is random, so only the plumbing is checked: every sample runs and
// the gate reports instead of erroring.
func TestAuditLocalTarget(t *testing.T) {
	dir := t.TempDir()
	m, err := model.New(model.GPT2Config(target.ByteVocab, 160, 1, 2, 16), 3)
	if err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(dir, "ck")
	if err := m.Save(ck); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "audit", "--target", ck, "--probes", "mirage,rare-event", "--n", "4", "--max-tokens", "4",
		"--db", filepath.Join(dir, "a.db"), "--json", "--quiet", "--concurrency", "2")
	if code := exitCode(err); code == 2 {
		t.Fatalf("local target: exit 2 (%v)\n%s", err, out)
	}
	var rep struct {
		Tasks  struct{ Total, Done int } `json:"tasks"`
		Probes map[string]map[string]any `json:"probes"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Tasks.Total == 0 || rep.Tasks.Done != rep.Tasks.Total || len(rep.Probes) != 2 {
		t.Errorf("local audit: %+v", rep)
	}
}

// TestAuditFlagErrorsBeforeARun: what a probe needs from the flags, a
// missing --metrics-log, a negative --n and a target audit cannot prompt
// fail before anything is stored, instead of an incomplete run that says
// to rerun.
func TestAuditFlagErrorsBeforeARun(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "runs", "a.db")
	labPolicy := filepath.Join(dir, "clean-seed1000")
	if err := os.MkdirAll(labPolicy, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(labPolicy, "lab_codec.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		extra []string
		want  string
	}{
		{[]string{"--probes", "overhang"}, "--series"},
		{[]string{"--probes", "overhang", "--series", "ck-1"}, "--series"},
		{[]string{"--probes", "reward-hacking"}, "--judge-model"},
		{[]string{"--probes", "reward-hacking", "--metrics-log", filepath.Join(dir, "none.jsonl")}, "--metrics-log"},
		{[]string{"--n", "-1"}, "--n"},
		// A lab policy's word codec is no tokenizer the audit can use: it
		// used to be audited through the byte-level fallback, as garbage.
		{[]string{"--target", labPolicy}, "lab policy"},
	} {
		args := append([]string{"audit", "-q", "--target", "http://127.0.0.1:9/v1", "--model", "m", "--db", db}, c.extra...)
		_, err := runCLI(t, args...)
		if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), c.want) {
			t.Errorf("%v: %v (exit %d), want exit 2 naming %s", c.extra, err, exitCode(err), c.want)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a flag error left a store behind")
	}
}
