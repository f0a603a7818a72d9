package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/interp"
)

// inspect probe on a tiny model: texts labelled by which words they use are
// separable from the embeddings on (mean position), the JSON carries the
// documented keys, the run directory holds inspect.json and a loadable
// direction, and a malformed line is reported as file:line.
func TestInspectProbe(t *testing.T) {
	dir := t.TempDir()
	lmTestModel(t, filepath.Join(dir, "m"))
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "{\"text\": \"the answer is %d\", \"label\": 1}\n", 1+i%4)
		fmt.Fprintf(&b, "{\"text\": \"q z w %d\", \"label\": 0}\n", 1+i%4)
	}
	data := filepath.Join(dir, "d.jsonl")
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "runs")
	out, err := runCLI(t, "inspect", "probe", "--model", filepath.Join(dir, "m"), "--data", data, "--hook", "hook_resid_pre",
		"--position", "mean", "--out", runs, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got probeData
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Examples != 80 || got.Positives != 40 || len(got.AUROCByLayer) != 1 || got.BestAUROC < 0.95 {
		t.Fatalf("probe result %+v", got)
	}
	if _, err := interp.LoadDirection(got.Direction); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(got.Direction), interp.ResultFile))
	if err != nil {
		t.Fatal(err)
	}
	var res interp.Result
	if err := json.Unmarshal(raw, &res); err != nil || res.Kind != "probe" || len(res.Series) != 1 {
		t.Fatalf("inspect.json: %v %+v", err, res)
	}
	// A malformed line is named by file and line.
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 3}\n"), 0o644)
	_, err = runCLI(t, "inspect", "probe", "--model", filepath.Join(dir, "m"), "--data", bad, "--out", "")
	if err == nil || !strings.Contains(err.Error(), bad+":2:") || exitCode(err) != 2 {
		t.Fatalf("malformed line: %v", err)
	}
	if _, err := runCLI(t, "inspect", "probe", "--model", filepath.Join(dir, "m"), "--data", data, "--layers", "5", "--out", ""); err == nil {
		t.Fatal("layer out of range: no error")
	}
}

func TestParseLayers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "[0 1 2 3]", true},
		{"0,2-3", "[0 2 3]", true},
		{"3,1,3", "[3 1]", true},
		{"4", "", false},
		{"2-1", "", false},
		{"x", "", false},
	} {
		got, err := parseLayers(c.in, 4)
		if (err == nil) != c.ok || (c.ok && fmt.Sprint(got) != c.want) {
			t.Errorf("parseLayers(%q) = %v, %v", c.in, got, err)
		}
	}
}

// TestInspectProbeRejectsBadLambda: --lambda NaN or negative is a usage
// error up front; NaN used to give probes at chance and exit 0.
func TestInspectProbeRejectsBadLambda(t *testing.T) {
	for _, l := range []string{"NaN", "-1", "+Inf"} {
		_, err := runCLI(t, "inspect", "probe", "-q", "--model", "no-such-dir", "--data", "no-such.jsonl", "--lambda", l, "--out", "")
		if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), "--lambda") {
			t.Errorf("--lambda %s: %v, want exit 2 naming --lambda", l, err)
		}
	}
}
