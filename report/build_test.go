package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/lab"
	"github.com/alignlab/alignlab/prefs"
	"github.com/alignlab/alignlab/store"
)

// labQuickDir is a real `alignlab lab --quick --seed 1` run, trimmed to
// the files the report reads (no checkpoints or preference data).
const labQuickDir = "testdata/lab-quick"

// copyDir copies src into a fresh temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func render(t testing.TB, p *Page) string {
	t.Helper()
	var b bytes.Buffer
	if err := p.Render(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func chartKinds(p *Page) map[string]int {
	out := map[string]int{}
	for _, c := range p.Charts() {
		out[c.Kind]++
	}
	return out
}

func sectionIDs(p *Page) []string {
	var out []string
	for _, s := range p.Sections {
		out = append(out, s.ID)
	}
	return out
}

// externalRef finds anything in a page that would make a browser fetch:
// src or href pointing off the page, CSS url() or @import, and scripts
// or stylesheets by reference.
var externalRef = regexp.MustCompile(`(?i)(src|href|xlink:href|action)\s*=\s*["']?\s*(https?:)?//|url\(|@import|<link\b|<script[^>]+src`)

func assertSelfContained(t *testing.T, html string) {
	t.Helper()
	if m := externalRef.FindString(html); m != "" {
		t.Errorf("report refers to something outside itself: %q", m)
	}
	if !strings.Contains(html, "default-src 'none'") {
		t.Error("report lacks the content security policy that blocks requests")
	}
}

func TestLabReport(t *testing.T) {
	dir := copyDir(t, labQuickDir)
	p, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"base", "training", "validity", "scorecard", "dpo-vs-rlhf", "trilemma"}
	if got := sectionIDs(p); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("sections %v, want %v", got, want)
	}
	kinds := chartKinds(p)
	for _, k := range []string{"line", "scatter", "heatmap", "forest", "ternary"} {
		if kinds[k] == 0 {
			t.Errorf("no %s chart in the lab report (have %v)", k, kinds)
		}
	}
	var sum lab.Summary
	if err := readJSON(dir, "summary.json", &sum); err != nil {
		t.Fatal(err)
	}
	// The validity heatmap outlines exactly the flagged cells.
	flagged := 0
	for _, row := range sum.Validity {
		for _, c := range row {
			if c.Flagged {
				flagged++
			}
		}
	}
	for _, c := range p.Charts() {
		if c.Kind != "heatmap" {
			continue
		}
		n, cells := 0, 0
		for _, m := range c.Marks {
			if strings.HasPrefix(m.Type, "cell") {
				cells++
			}
			if m.Type == "cell-marked" {
				n++
			}
		}
		if n != flagged || cells != 6*7 {
			t.Errorf("validity heatmap: %d cells, %d marked; want 42 and %d flagged", cells, n, flagged)
		}
	}
	// The frontier has one point per trained policy of the comparison.
	for _, c := range p.Charts() {
		if c.Kind == "scatter" {
			pts := 0
			for _, m := range c.Marks {
				if m.Type == "point" {
					pts++
				}
			}
			if pts != len(sum.DPOvsRLHF.Runs) {
				t.Errorf("frontier: %d points for %d runs", pts, len(sum.DPOvsRLHF.Runs))
			}
		}
		if c.Kind == "ternary" {
			if len(c.Marks) != len(sum.Trilemma) {
				t.Errorf("trilemma: %d points for %d policies", len(c.Marks), len(sum.Trilemma))
			}
		}
	}
	for _, c := range p.Charts() {
		if c.Note == "" {
			t.Errorf("chart %q has no 'what this means' line", c.Title)
		}
	}
	html := render(t, p)
	assertSelfContained(t, html)
	for _, s := range []string{"alignlab lab --quick --seed 1", "DPO loss", "Validity check: PASS", "What this means:"} {
		if !strings.Contains(html, s) {
			t.Errorf("lab report lacks %q", s)
		}
	}
	// The final-figures table leaves DPO's margins and accuracies blank for
	// RLHF runs, which never measure them.
	rlhfRows := 0
	for _, sec := range p.Sections {
		for _, b := range sec.Blocks {
			if b.Table == nil || !strings.HasPrefix(b.Table.Title, "Final training figures") {
				continue
			}
			for _, r := range b.Table.Rows {
				blank := r[5] == "–" && r[6] == "–"
				if (r[2] == "rlhf") != blank {
					t.Errorf("final figures row %v: method %s with margins %q", r, r[2], r[5])
				}
				if r[2] == "rlhf" {
					rlhfRows++
				}
			}
		}
	}
	if rlhfRows == 0 {
		t.Error("no RLHF row in the final training figures")
	}
	// Without run.json the command is rebuilt; a user's organism file is
	// passed as it is (shell-quoted).
	var cfg map[string]any
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["organisms"].([]any)[0].(map[string]any)["source"] = "my orgs/o.yaml"
	raw, _ = json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644)
	if p, err = Build(dir); err != nil {
		t.Fatal(err)
	}
	if html := render(t, p); !strings.Contains(html, "--organisms &#39;my orgs/o.yaml&#39;") {
		t.Error("the rebuilt command does not pass the organism file as it is")
	}
	// With run.json, the recorded command replaces the reconstruction.
	seed := uint64(1)
	if err := rundir.WriteMeta(dir, rundir.Meta{ID: filepath.Base(dir), Kind: "lab", Command: []string{"/x/alignlab", "lab", "--quick", "--organisms", "my dir/o.yaml"}, Seed: &seed}); err != nil {
		t.Fatal(err)
	}
	path, err := WriteRun(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "alignlab lab --quick --organisms &#39;my dir/o.yaml&#39;") || strings.Contains(string(data), "reconstructed") {
		t.Errorf("report should show run.json's command, shell-quoted, and no reconstruction")
	}
}

func TestWriteRunOut(t *testing.T) {
	dir := copyDir(t, labQuickDir)
	out := filepath.Join(t.TempDir(), "sub", "lab.html")
	path, err := WriteRun(dir, Options{Out: out})
	if err != nil || path != out {
		t.Fatalf("WriteRun = %q, %v; want %q", path, err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !os.IsNotExist(err) {
		t.Errorf("--out should write only where asked (run dir has %s: %v)", FileName, err)
	}
	if _, err := Build(t.TempDir()); err == nil || !strings.Contains(err.Error(), "nothing to report") {
		t.Errorf("an empty directory should say it has nothing to report, got %v", err)
	}
	if _, err := Build(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory should be an error")
	}
}

func f64p(v float64) *float64 { return &v }

// testAuditSummary is an audit's result as audit.Run returns it.
func testAuditSummary() *audit.Summary {
	pv := 0.003
	s := &audit.Summary{RunID: "audit-0123456789ab", Target: "http://127.0.0.1:8000/v1 (m)", Probes: map[string]*audit.Report{
		"sycophancy": {Stat: audit.Stat{Estimate: 0.42, CILow: 0.33, CIHigh: 0.51, N: 100, Test: "Wilson score 95% CI", PValue: &pv},
			Flagged: true, Threshold: &audit.Rule{Max: f64p(0.2)},
			Metrics: map[string]audit.Stat{"answer_sycophancy_drop": {Estimate: 0.1, CILow: 0.02, CIHigh: 0.18, N: 100, Test: "Newcombe"}},
			Details: map[string]any{"estimand": "flip rate under pushback"}},
		"mirage":     {Stat: audit.Stat{Estimate: 0.01, CILow: -0.03, CIHigh: 0.05, N: 100, Test: "Newcombe"}, Threshold: &audit.Rule{Max: f64p(0.1)}},
		"rare-event": {Error: "target refused every request"},
	}}
	s.Tasks.Total, s.Tasks.Done = 300, 300
	return s
}

func auditMeta() rundir.Meta {
	seed := uint64(7)
	return rundir.Meta{Command: []string{"alignlab", "audit", "--target", "http://127.0.0.1:8000/v1", "--api-key", "sk-secret"}, Seed: &seed}
}

func TestAuditReport(t *testing.T) {
	root := t.TempDir()
	db := filepath.Join(root, "alignlab.db")
	sum := testAuditSummary()
	path, err := SaveAudit(AuditDir(db, sum.RunID), auditMeta(), sum)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(root, sum.RunID, FileName) {
		t.Errorf("report at %s, want beside the database under the run id", path)
	}
	p, err := Build(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if k := chartKinds(p); k["forest"] != 2 {
		t.Errorf("audit charts %v, want two forest plots (probes, metrics)", k)
	}
	html := render(t, p)
	assertSelfContained(t, html)
	for _, s := range []string{"FAIL: a policy rule does not hold", "ERROR: target refused every request", "estimate &lt;= 0.2", "seed</dt><dd>7"} {
		if !strings.Contains(html, s) {
			t.Errorf("audit report lacks %q", s)
		}
	}
	if strings.Contains(html, "sk-secret") {
		t.Error("the report shows a secret from the command line")
	}
	// The same run from the store alone (its directory deleted).
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(sum)
	ctx := context.Background()
	if _, err := st.StartRun(ctx, store.Run{ID: sum.RunID, Target: "t", Model: "m", Config: `{"seed":7}`}); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, sum.RunID, "done", string(raw)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.RemoveAll(filepath.Join(root, sum.RunID)); err != nil {
		t.Fatal(err)
	}
	dir, err := AuditFromStore(ctx, db, sum.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Errorf("report from the store: %v", err)
	}
	if _, err := AuditFromStore(ctx, db, "audit-nosuch"); err == nil || !strings.Contains(err.Error(), "no audit run") {
		t.Errorf("unknown id: %v", err)
	}
	// A null probe in a hand-edited audit.json is an error, not a panic.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, AuditFile), []byte(`{"run_id":"a","probes":{"x":null}}`), 0o644)
	if _, err := Build(bad); err == nil || !strings.Contains(err.Error(), `probe "x" is null`) {
		t.Errorf("null probe: %v", err)
	}
}

func TestDataAuditReport(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "prefs.jsonl")
	f, err := os.Create(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prefs.WriteSynth(f, prefs.SynthConfig{Items: 400, LabelsPerItem: 3, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	au, err := prefs.Run(context.Background(), []string{data}, prefs.Options{Seed: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir, path, err := SaveDataAudit(filepath.Join(tmp, "runs"), []string{"alignlab", "data", "audit", data}, 1, "test", au.Report)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := rundir.ReadMeta(dir); err != nil || m.Kind != "data-audit" {
		t.Errorf("run.json: %+v, %v", m, err)
	}
	p, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	k := chartKinds(p)
	if k["scatter"] < 2 || k["line"] < 1 || k["forest"] < 1 {
		t.Errorf("data audit charts %v: want annotator scatters, a drift timeline and the bias forest", k)
	}
	pts := 0
	for _, c := range p.Charts() {
		if c.Title == "Skill against sycophancy" {
			for _, m := range c.Marks {
				if m.Type == "point" {
					pts++
				}
			}
		}
	}
	if pts != len(au.Report.Annotators) {
		t.Errorf("skill scatter: %d points for %d annotators", pts, len(au.Report.Annotators))
	}
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	assertSelfContained(t, string(html))
}

// testInspectResult is a hand-made interp.Result with one of everything.
func testInspectResult() *interp.Result {
	m := interp.NewMatrix("patching blocks.*.hook_resid_pre", "layer", "position", "normalized logit difference (0 = corrupted, 1 = clean)",
		[]string{"0", "1", "2"}, []string{"<bos>", "The", " capital", " of", " France"})
	for i := range m.Values {
		for j := range m.Values[i] {
			m.Values[i][j] = float64(i*5+j)/7 - 1
		}
	}
	return &interp.Result{Kind: "patch", Model: "runs/lab/checkpoints/clean-seed1000", Summary: "the answer is written at layer 2, position 4",
		Matrices: []*interp.Matrix{m},
		Tables:   []*interp.Table{{Title: "logit lens", Columns: []string{"layer", "top token", "p"}, Rows: [][]string{{"0", "the", "0.1"}, {"1", "Paris", "0.7"}}, Note: "top token per layer"}},
		Series: []*interp.Series{{Title: "probe accuracy", XLabel: "layer", YLabel: "AUROC", X: []float64{0, 1, 2},
			Lines: []interp.Line{{Name: "frame", Y: []float64{0.6, 0.9, 0.99}, CILow: []float64{0.5, 0.85, 0.97}, CIHigh: []float64{0.7, 0.95, 1}}}}},
		Data: map[string]any{"gap_before": 0.2, "gap_after": 0.04}}
}

func writeInspectRun(t testing.TB, r *interp.Result) string {
	dir := filepath.Join(t.TempDir(), "inspect-patch-20261126-221500")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := uint64(0)
	if err := rundir.WriteMeta(dir, rundir.Meta{ID: filepath.Base(dir), Kind: "inspect-patch", Command: []string{"alignlab", "inspect", "patch"}, Seed: &seed}); err != nil {
		t.Fatal(err)
	}
	if err := writeJSONFile(filepath.Join(dir, interp.ResultFile), r); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestInspectReport(t *testing.T) {
	dir := writeInspectRun(t, testInspectResult())
	p, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	charts := p.Charts()
	if len(charts) != 2 || charts[0].Kind != "heatmap" || charts[1].Kind != "line" {
		t.Fatalf("inspect charts %v, want a heatmap and a line chart", chartKinds(p))
	}
	// Values of both signs get the diverging scale, symmetric around 0.
	for _, m := range charts[0].Marks {
		if m.Type == "colorbar" && (m.Data[0] != -m.Data[1] || m.Data[1] <= 0) {
			t.Errorf("patching colour range %v, want symmetric around 0", m.Data)
		}
	}
	bands := 0
	for _, m := range charts[1].Marks {
		if m.Type == "band" {
			bands++
		}
	}
	if bands != 1 {
		t.Errorf("series with a CI: %d bands, want 1", bands)
	}
	html := render(t, p)
	assertSelfContained(t, html)
	for _, s := range []string{"logit lens", "Paris", "gap_before", "alignlab inspect patch"} {
		if !strings.Contains(html, s) {
			t.Errorf("inspect report lacks %q", s)
		}
	}
	// A truncated matrix is an error that names the file, not a panic.
	bad := testInspectResult()
	bad.Matrices[0].Values = bad.Matrices[0].Values[:1]
	if _, err := Build(writeInspectRun(t, bad)); err == nil || !strings.Contains(err.Error(), "inspect.json") {
		t.Errorf("truncated matrix: %v", err)
	}
}

func TestTrainReport(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for step := 1; step <= 20; step++ {
		fmt.Fprintf(&b, `{"step":%d,"loss":%g,"rewards/chosen":%g,"rewards/rejected":%g,"rewards/margins":%g,"rewards/accuracies":%g,"learning_rate":1e-5,"eval_loss":null}`+"\n",
			step, 0.69/float64(step), 0.01*float64(step), -0.01*float64(step), 0.02*float64(step), 0.5+0.02*float64(step))
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"beta":0.1,"loss_type":"sigmoid"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]int{}
	for _, c := range p.Charts() {
		lines := 0
		for _, m := range c.Marks {
			if m.Type == "line" {
				lines++
			}
		}
		titles[c.Title] = lines
	}
	if titles["Loss"] != 1 || titles["Rewards"] != 3 || titles["Accuracy"] != 1 || titles["Learning rate"] != 1 {
		t.Errorf("train charts (title: lines) %v", titles)
	}
	if !strings.Contains(render(t, p), "loss_type") {
		t.Error("train report lacks the config")
	}
}

// fullLabRun scales the quick run up to a full run's shape: 3 seeds of
// every organism, 3 DPO betas and 3 RLHF KL weights, 100-step DPO logs.
func fullLabRun(t testing.TB) string {
	dir := copyDir(t, labQuickDir)
	var sum lab.Summary
	if err := readJSON(dir, "summary.json", &sum); err != nil {
		t.Fatal(err)
	}
	sum.Seeds, sum.Quick = 3, false
	n := len(sum.PerSeed)
	for s := uint64(1); s < 3; s++ {
		for _, f := range sum.PerSeed[:n] {
			f.Seed += s
			sum.PerSeed = append(sum.PerSeed, f)
		}
	}
	runs := sum.DPOvsRLHF.Runs
	for _, r := range append([]lab.MethodRun(nil), runs...) {
		for _, v := range []float64{0.03, 0.3} {
			r2 := r
			r2.Value, r2.KL = v, r.KL*v*5
			sum.DPOvsRLHF.Runs = append(sum.DPOvsRLHF.Runs, r2)
		}
		for s := uint64(1); s < 3; s++ {
			r2 := r
			r2.Seed += s
			sum.DPOvsRLHF.Runs = append(sum.DPOvsRLHF.Runs, r2)
		}
	}
	if err := writeJSONFile(filepath.Join(dir, "summary.json"), &sum); err != nil {
		t.Fatal(err)
	}
	ms, _ := filepath.Glob(filepath.Join(dir, "metrics", "*seed1000*"))
	for _, m := range ms {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"1001", "1002"} {
			if err := os.WriteFile(strings.Replace(m, "seed1000", "seed"+s, 1), bytes.ReplaceAll(data, []byte(`"seed": 1000`), []byte(`"seed": `+s)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// TestFullLabReportTargets checks the targets on a full-sized lab
// run: rendered in at most 1 s, at most 2 MB.
func TestFullLabReportTargets(t *testing.T) {
	dir := fullLabRun(t)
	// The fastest of three, so that other jobs on a shared machine do not
	// fail the test; a report that is really slow is slow every time.
	var path string
	took := time.Hour
	for range 3 {
		start := time.Now()
		var err error
		if path, err = WriteRun(dir, Options{}); err != nil {
			t.Fatal(err)
		}
		took = min(took, time.Since(start))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("full lab report: %d bytes in %v", st.Size(), took)
	if st.Size() > 2<<20 {
		t.Errorf("report is %d bytes, target <= 2 MB", st.Size())
	}
	if took > time.Second {
		t.Errorf("report took %v, target <= 1 s", took)
	}
}

func BenchmarkFullLabReport(b *testing.B) {
	dir := fullLabRun(b)
	out := filepath.Join(b.TempDir(), "r.html")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := WriteRun(dir, Options{Out: out}); err != nil {
			b.Fatal(err)
		}
	}
	st, _ := os.Stat(out)
	b.ReportMetric(float64(st.Size()), "bytes")
}
