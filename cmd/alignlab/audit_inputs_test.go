package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/audit/simserver"
)

// runCLIAll runs a command in-process and returns its stdout and stderr
// together with its error's text, all a user would see.
func runCLIAll(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil {
		fmt.Fprintf(&out, "\nerror: %v\n", err)
	}
	return out.String(), err
}

// filesHolding lists the files under dir whose bytes contain s.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(s)) {
				hits = append(hits, p)
			}
		}
		return nil
	})
	return hits
}

// TestAuditEscapedKeyNeverShownOrStored: servers that echo the key
// JSON-escaped (PHP's "\/"), in a 401, in a 200 reply's "error" object or
// in an answer, leave it in no output and no file: not audit.json, the
// report, nor the store's samples and response cache.
func TestAuditEscapedKeyNeverShownOrStored(t *testing.T) {
	const key = "sk-LEAKCANARY/7f3a+9c2e1b"
	escaped := strings.ReplaceAll(key, "/", `\/`)
	t.Setenv("ALIGNLAB_LEAK_KEY", key)
	for _, c := range []struct {
		name   string
		status int
		body   string
	}{
		{"401", 401, `{"error": {"message": "Incorrect API key provided: ` + escaped + `"}}`},
		{"200 error", 200, `{"error": {"message": "key ` + strings.ReplaceAll(escaped, "+", `\u002b`) + ` revoked"}}`},
		{"200 echo", 200, `{"choices": [{"message": {"role": "assistant", "content": "You sent ` + escaped + `"}}]}`},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(c.status)
			io.WriteString(w, c.body)
		}))
		dir := t.TempDir()
		out, err := runCLIAll(t, "audit", "--target", srv.URL+"/v1", "--model", "m", "--probes", "sycophancy", "--n", "3",
			"--retries", "1", "--max-errors", "2", "--api-key-env", "ALIGNLAB_LEAK_KEY", "--db", filepath.Join(dir, "runs", "alignlab.db"))
		srv.Close()
		if exitCode(err) != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", c.name, exitCode(err), out)
		}
		if strings.Contains(out, "LEAKCANARY") || !strings.Contains(out, "[REDACTED]") && c.status != 200 {
			t.Errorf("%s: the output shows the key or no redaction:\n%s", c.name, out)
		}
		if hits := filesHolding(t, dir, "LEAKCANARY"); len(hits) > 0 {
			t.Errorf("%s: the key is stored in %v", c.name, hits)
		}
		if c.name == "200 echo" && len(filesHolding(t, dir, "[REDACTED]")) == 0 {
			t.Errorf("%s: no reply was stored at all; the test proves nothing", c.name)
		}
	}
}

// TestAuditKeyWithCarriageReturn: a key read from a CRLF .env file is
// trimmed and works; one with a control character inside fails at once,
// before a run is stored, without showing the key.
func TestAuditKeyWithCarriageReturn(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "runs", "a.db")
	srv := simFor(t, simserver.Behavior{Seed: 1}, 4, 1)
	t.Setenv("ALIGNLAB_CR_KEY", auditSecret+"\r")
	args := []string{"audit", "-q", "--target", srv.URL + "/v1", "--model", "sim", "--probes", "mirage", "--n", "4", "--seed", "1",
		"--api-key-env", "ALIGNLAB_CR_KEY", "--db", db}
	if out, err := runCLIAll(t, args...); exitCode(err) == 2 {
		t.Fatalf("key with a trailing CR: exit 2\n%s", out)
	}
	t.Setenv("ALIGNLAB_CR_KEY", auditSecret[:6]+"\n"+auditSecret[6:])
	db2 := filepath.Join(dir, "runs2", "a.db")
	out, err := runCLIAll(t, append(args[:len(args)-1], db2)...)
	if exitCode(err) != 2 || !strings.Contains(out, "ALIGNLAB_CR_KEY") || !strings.Contains(out, "control character") ||
		strings.Contains(out, auditSecret[6:]) || strings.Contains(out, "overloaded") {
		t.Errorf("key with a newline: exit %d\n%s", exitCode(err), out)
	}
	if _, err := os.Stat(db2); err == nil {
		t.Error("a bad key left a store behind")
	}
}

// TestAuditBadInputsBeforeARun: a policy with a NaN threshold, a policy
// file that does not parse, and a metric log that cannot be read or has
// a broken line are refused with exit 2, naming the file (and rule or
// line), before a run is stored; a fixed metric log then works.
func TestAuditBadInputsBeforeARun(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "runs", "a.db")
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nanPol := write("nan2.yaml", "probes:\n  reward-hacking: {max: .nan}\n")
	emptyPol := write("empty.yaml", "")
	badPol := write("bad.yaml", "probes: [\n")
	var good strings.Builder
	for i := range 8 {
		fmt.Fprintf(&good, `{"step": %d, "kl": %d, "proxy": %d, "gold": %g}`+"\n", i, i, i, 1-float64(i*i)/100)
	}
	okLog := write("ok.jsonl", good.String())
	trunc := write("trunc.jsonl", good.String()+`{"step": 8, "kl"`+"\n")
	unreadable := write("unreadable.jsonl", good.String())
	os.Chmod(unreadable, 0)
	_, statErr := os.ReadFile(unreadable)
	logDir := filepath.Join(dir, "logdir")
	os.Mkdir(logDir, 0o755)
	cases := []struct {
		extra []string
		want  []string
	}{
		{[]string{"--metrics-log", okLog, "--policy", nanPol}, []string{nanPol, `"reward-hacking"`, "finite"}},
		{[]string{"--metrics-log", okLog, "--policy", emptyPol}, []string{emptyPol, "empty"}},
		{[]string{"--metrics-log", okLog, "--policy", badPol}, []string{badPol, "yaml: line"}},
		{[]string{"--metrics-log", trunc}, []string{"--metrics-log", trunc + " line 9"}},
		{[]string{"--metrics-log", logDir}, []string{"--metrics-log", logDir, "directory"}},
	}
	if statErr != nil { // root reads anything
		cases = append(cases, struct{ extra, want []string }{[]string{"--metrics-log", unreadable}, []string{"--metrics-log", unreadable, "permission denied"}})
	}
	for _, c := range cases {
		args := append([]string{"audit", "-q", "--target", "http://127.0.0.1:9/v1", "--model", "m", "--probes", "reward-hacking", "--db", db}, c.extra...)
		out, err := runCLIAll(t, args...)
		if exitCode(err) != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", c.extra, exitCode(err), out)
		}
		for _, w := range c.want {
			if !strings.Contains(fmt.Sprint(err), w) {
				t.Errorf("%v: %v does not name %q", c.extra, err, w)
			}
		}
		if strings.Contains(out, "rerun") {
			t.Errorf("%v: says to rerun:\n%s", c.extra, out)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Fatal("a bad input left a store behind")
	}
	// Fixed, the same command succeeds.
	write("trunc.jsonl", good.String())
	out, err := runCLIAll(t, "audit", "-q", "--target", "http://127.0.0.1:9/v1", "--model", "m", "--probes", "reward-hacking", "--db", db,
		"--metrics-log", trunc, "--policy", write("nan2.yaml", "probes:\n  reward-hacking: {max: 0.5}\n"))
	if exitCode(err) == 2 {
		t.Errorf("fixed metric log: exit 2\n%s", out)
	}
	runs, err := runCLIAll(t, "runs", "ls", "--db", db, "--json")
	if err != nil || strings.Contains(runs, `"running"`) {
		t.Errorf("runs ls: %v\n%s", err, runs)
	}
}
