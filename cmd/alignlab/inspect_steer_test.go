package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/internal/modeldir"
	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/interp"
)

// inspect steer on a tiny model: steering hard toward one token's
// unembedding makes greedy generation repeat that token, a zero scale
// changes nothing, the run directory holds run.json and inspect.json with
// the prompt / unsteered / steered table, and bad flags exit 2.
func TestInspectSteer(t *testing.T) {
	dir := t.TempDir()
	mdir := filepath.Join(dir, "m")
	lmTestModel(t, mdir)
	m, tok, err := modeldir.Load(mdir)
	if err != nil {
		t.Fatal(err)
	}
	C := m.Config.Dim
	const target = 42
	d := &interp.Direction{Hook: "blocks.0.hook_resid_post", Vector: slices.Clone(m.Params.LMHead[target*C : (target+1)*C]), Source: "test"}
	dfile := filepath.Join(dir, "d.json")
	if err := d.Save(dfile); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "runs")
	out, err := runCLI(t, "inspect", "steer", "--model", mdir, "--direction", dfile, "--unit", "--scale", "60",
		"--prompt", "the answer is", "--prompt", "q z", "--max-new-tokens", "5", "--out", runs, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got steerData
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := strings.Repeat(tok.Decode([]int32{target}), 5)
	if len(got.Generations) != 2 || got.Changed != 2 || got.Mode != "add" || !slices.Equal(got.Hooks, []string{"blocks.0.hook_resid_post"}) {
		t.Fatalf("steer result %+v", got)
	}
	for _, g := range got.Generations {
		if g.Steered != want || g.Unsteered == want {
			t.Fatalf("prompt %q: unsteered %q, steered %q; want the steered one to be %q", g.Prompt, g.Unsteered, g.Steered, want)
		}
	}
	ents, err := os.ReadDir(runs)
	if err != nil || len(ents) != 1 {
		t.Fatalf("runs: %v %v", ents, err)
	}
	rd := filepath.Join(runs, ents[0].Name())
	meta, err := rundir.ReadMeta(rd)
	if err != nil || meta.Kind != "inspect-steer" {
		t.Fatalf("run.json: %+v %v", meta, err)
	}
	raw, err := os.ReadFile(filepath.Join(rd, interp.ResultFile))
	if err != nil {
		t.Fatal(err)
	}
	var res interp.Result
	if err := json.Unmarshal(raw, &res); err != nil || res.Kind != "steer" || len(res.Tables) != 1 ||
		len(res.Tables[0].Rows) != 2 || res.Tables[0].Rows[1][3] != want {
		t.Fatalf("inspect.json: %v %+v", err, res)
	}

	// Zero scale, several samples while sampling, at both layers named by
	// --layers: nothing changes; the text output lists every pair.
	out, err = runCLI(t, "inspect", "steer", "--model", mdir, "--direction", dfile, "--scale", "0", "--layers", "0",
		"--prompt", "q z", "--n", "3", "--temperature", "1", "--max-new-tokens", "4", "--out", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "changed 0 of 3 generations") || strings.Count(out, "  steered: ") != 3 {
		t.Fatalf("zero-scale text output:\n%s", out)
	}

	// Ablation runs; bad flags exit 2.
	if _, err := runCLI(t, "inspect", "steer", "--model", mdir, "--direction", dfile, "--ablate", "--prompt", "q", "--out", ""); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--direction", dfile, "--ablate", "--scale", "2", "--prompt", "q"},
		{"--direction", dfile, "--prompt", "q", "--hook", "mlp.hook_post", "--layers", "0"}, // width 128, not 32
		{"--direction", dfile, "--prompt", "q", "--layers", "3"},
		{"--direction", dfile},
		{"--direction", dfile, "--prompt", "q", "--hook", "hook_resid_mid"}, // --hook without --layers
		{"--direction", filepath.Join(dir, "missing.json"), "--prompt", "q"},
	} {
		_, err := runCLI(t, append([]string{"inspect", "steer", "--model", mdir, "--out", ""}, args...)...)
		if err == nil || exitCode(err) != 2 {
			t.Fatalf("%v: error %v, want exit 2", args, err)
		}
	}
}
