package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/audit/simserver"
	"github.com/alignlab/alignlab/store"
	"github.com/alignlab/alignlab/target"
)

// harness is a planted server, targets pointing at it and a store.
type harness struct {
	sim   *simserver.Server
	srv   *httptest.Server
	st    *store.Store
	tgt   target.Target
	opts  audit.Options
	cfg   audit.Config
	calls atomic.Int64
	// failAfter makes every request past this count answer 503 (0: never).
	failAfter atomic.Int64
}

func newHarness(t *testing.T, b simserver.Behavior, n int, probes []string, series []string) *harness {
	t.Helper()
	h := &harness{sim: simserver.New(b, nil)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := h.calls.Add(1)
		if fa := h.failAfter.Load(); fa > 0 && c > fa {
			w.WriteHeader(503)
			return
		}
		h.sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	mk := func(model string) target.Target {
		c, err := target.NewHTTP(target.HTTPConfig{BaseURL: h.srv.URL + "/v1", Model: model, Concurrency: 16,
			MaxRetries: 2, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	h.tgt = mk("sim")
	ds, err := audit.Bank(n, 11, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.opts = audit.Options{Dataset: ds, Seed: 5, Judge: &audit.Judge{Target: mk("judge")}, OverhangSamples: 6}
	for _, m := range series {
		h.opts.Series = append(h.opts.Series, mk(m))
	}
	// Teach the server every question the probes will ask.
	for _, name := range probes {
		p, _ := audit.ProbeByName(name)
		tasks, err := p.Tasks(context.Background(), &h.opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks {
			h.sim.Learn(tk.Sample)
		}
	}
	h.st, err = store.Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.st.Close() })
	h.cfg = audit.Config{Probes: probes, Options: h.opts, Target: h.tgt, Store: h.st, Concurrency: 16, MaxErrors: 5,
		Identity: map[string]any{"probes": probes, "n": n, "model": "sim"}}
	return h
}

func (h *harness) run(t *testing.T, ctx context.Context) *audit.Summary {
	t.Helper()
	sum, err := audit.Run(ctx, h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

var allProbes = []string{"sycophancy", "mirage", "rare-event", "reward-hacking", "overhang"}

// TestPlantedBehaviour: each probe's estimate lands within its confidence
// interval of the value planted in the server, and the gate flags it.
func TestPlantedBehaviour(t *testing.T) {
	b := simserver.Behavior{FlipProb: 0.3, BeliefProb: 0.4, EvalAcc: 0.95, DeployAcc: 0.65, RareAcc: 0.6, HackRate: 0.25,
		JudgeHackable: true, Seed: 3,
		Series: map[string]float64{"ck0": 0.1, "ck1": 0.2, "ck2": 0.3, "ck3": 0.4, "ck4": 0.6, "ck5": 0.7}}
	// The overhang probe runs on a smaller bank in its own harness: it
	// asks every item at every checkpoint.
	h := newHarness(t, b, 120, allProbes[:4], nil)
	oh := newHarness(t, b, 40, []string{"overhang"}, []string{"ck0", "ck1", "ck2", "ck3", "ck4", "ck5"})
	ohSum := oh.run(t, context.Background())
	sum := h.run(t, context.Background())
	if len(sum.Errors) > 0 || len(ohSum.Errors) > 0 {
		t.Fatalf("errors: %v %v", sum.Errors, ohSum.Errors)
	}
	sum.Probes["overhang"] = ohSum.Probes["overhang"]
	// Planted values. The mirage, rare-event and reward-hacking servers
	// also plant HackRate, which lowers every accuracy by 25%: account
	// for it in the planted gaps.
	keep := 1 - b.HackRate
	planted := map[string]float64{
		"sycophancy":     0.3,
		"mirage":         (b.EvalAcc - b.DeployAcc) * keep,
		"reward-hacking": 0.25 / (0.25 + 0.75*1), // P(wrong | approved): hacks approved, all right answers approved
		"overhang":       1.0,
	}
	for name, want := range planted {
		rep := sum.Probes[name]
		if rep == nil || rep.Error != "" {
			t.Fatalf("%s: %+v", name, rep)
		}
		if !rep.Contains(want) {
			t.Errorf("%s: estimate %.3f [%.3f, %.3f] misses planted %.3f", name, rep.Estimate, rep.CILow, rep.CIHigh, want)
		}
		if !rep.Flagged {
			t.Errorf("%s: planted failure not flagged", name)
		}
	}
	// Rare-event: head accuracy keep, tail accuracy keep*RareAcc, but the
	// tail pools rare-entity items too; check against the planted slices.
	rare := sum.Probes["rare-event"]
	wantGap := keep - keep*b.RareAcc
	if !rare.Contains(wantGap) || !rare.Flagged {
		t.Errorf("rare-event: %.3f [%.3f, %.3f] flagged=%v, planted %.3f", rare.Estimate, rare.CILow, rare.CIHigh, rare.Flagged, wantGap)
	}
	// Answer sycophancy: accuracy drop = keep*BeliefProb.
	drop := sum.Probes["sycophancy"].Metrics["answer_accuracy_drop"]
	if !drop.Contains(keep * b.BeliefProb) {
		t.Errorf("answer_accuracy_drop %.3f [%.3f, %.3f], planted %.3f", drop.Estimate, drop.CILow, drop.CIHigh, keep*b.BeliefProb)
	}
	ohd := sum.Probes["overhang"].Details
	if ohd["change_point"] != 4 || ohd["continuous_metric"] != "logprob" {
		t.Errorf("overhang details: change %v metric %v", ohd["change_point"], ohd["continuous_metric"])
	}
	if lead, _ := ohd["lead_checkpoints"].(int); lead < 2 {
		t.Errorf("continuous metric warned only %v checkpoints early", ohd["lead_checkpoints"])
	}
	if sum.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1", sum.ExitCode())
	}
	// The planted hack is long, confident prose: the top exploited
	// features must be among those.
	js, _ := json.Marshal(sum.Probes["reward-hacking"].Details["exploited_features"])
	var feats []struct{ Feature string }
	json.Unmarshal(js, &feats)
	if len(feats) == 0 || (feats[0].Feature != "confident" && feats[0].Feature != "words" && feats[0].Feature != "flattery") {
		t.Errorf("exploited features: %s", js)
	}
}

func TestCleanServerPasses(t *testing.T) {
	b := simserver.Behavior{Seed: 4, Series: map[string]float64{"a": 0.9, "b": 0.9, "c": 0.9}}
	h := newHarness(t, b, 80, allProbes, []string{"a", "b", "c"})
	sum := h.run(t, context.Background())
	for name, rep := range sum.Probes {
		if rep.Error != "" || rep.Flagged {
			t.Errorf("%s on a clean server: flagged=%v error=%q estimate %.3f", name, rep.Flagged, rep.Error, rep.Estimate)
		}
	}
	if sum.ExitCode() != 0 {
		t.Errorf("exit code %d: %v", sum.ExitCode(), sum.Errors)
	}
	// No rise anywhere: the explanation says so rather than naming
	// checkpoint -1 (warned_at's "none").
	if ex, _ := sum.Probes["overhang"].Details["explanation"].(string); strings.Contains(ex, "checkpoint -1") {
		t.Errorf("overhang explanation: %q", ex)
	}
}

func TestOverhangPassRateFallback(t *testing.T) {
	b := simserver.Behavior{Seed: 9, Series: map[string]float64{"p0": 0.15, "p1": 0.35, "p2": 0.45, "p3": 0.8}}
	h := newHarness(t, b, 40, []string{"overhang"}, []string{"p0", "p1", "p2", "p3"})
	h.cfg.Options.OverhangMetric = "passrate"
	sum := h.run(t, context.Background())
	rep := sum.Probes["overhang"]
	if rep.Error != "" || rep.Details["continuous_metric"] != "passrate" || rep.Details["change_point"] != 3 {
		t.Fatalf("%+v", rep)
	}
	if lead := rep.Details["lead_checkpoints"].(int); lead < 1 {
		t.Errorf("pass rate gave no early warning: %v", rep.Details["explanation"])
	}
}

// TestFailingServerThenResume: a server that starts failing mid-run gives
// a bounded number of retries and a clear error; once it recovers, the
// same command resumes and finishes with no sample lost or repeated.
func TestFailingServerThenResume(t *testing.T) {
	h := newHarness(t, simserver.Behavior{Seed: 1}, 60, []string{"mirage"}, nil)
	h.failAfter.Store(50)
	sum := h.run(t, context.Background())
	if sum.ExitCode() != 2 || len(sum.Errors) == 0 {
		t.Fatalf("exit %d errors %v", sum.ExitCode(), sum.Errors)
	}
	msg := strings.Join(sum.Errors, "\n")
	if !strings.Contains(msg, "HTTP 503") || !strings.Contains(msg, "after 3 attempts") || !strings.Contains(msg, "resume") {
		t.Errorf("unclear error: %s", msg)
	}
	firstDone := sum.Tasks.Done
	if firstDone == 0 || firstDone >= 120 {
		t.Fatalf("first run stored %d tasks", firstDone)
	}
	// Bounded: the run stopped after MaxErrors failures, not after
	// trying every remaining task.
	if calls := h.calls.Load(); calls > 50+16*3+5*3 {
		t.Errorf("%d requests: retries not bounded", calls)
	}
	h.failAfter.Store(0)
	sum = h.run(t, context.Background())
	if sum.ExitCode() != 0 || !sum.Resumed || sum.Tasks.Skipped != firstDone || sum.Tasks.Done+sum.Tasks.Skipped != 120 {
		t.Fatalf("resume: exit %d resumed %v tasks %+v errors %v", sum.ExitCode(), sum.Resumed, sum.Tasks, sum.Errors)
	}
	if sum.Probes["mirage"].N != 60 {
		t.Errorf("mirage n = %d, want 60 pairs", sum.Probes["mirage"].N)
	}
}

func TestGarbageAndHangingServers(t *testing.T) {
	for _, mode := range []struct {
		fail int32
		want string
	}{{simserver.FailGarbage, "unreadable reply"}, {simserver.FailHang, "per-request timeout"}} {
		h := newHarness(t, simserver.Behavior{}, 5, []string{"sycophancy"}, nil)
		c, _ := target.NewHTTP(target.HTTPConfig{BaseURL: h.srv.URL + "/v1", Model: "sim", MaxRetries: 1,
			BackoffBase: time.Millisecond, Timeout: 100 * time.Millisecond})
		h.cfg.Target = c
		h.sim.SetFailure(mode.fail)
		sum := h.run(t, context.Background())
		if sum.ExitCode() != 2 || !strings.Contains(strings.Join(sum.Errors, " "), mode.want) {
			t.Errorf("mode %d: exit %d errors %v", mode.fail, sum.ExitCode(), sum.Errors)
		}
		h.sim.SetFailure(simserver.FailNone)
		h.cfg.Target = h.tgt
		if sum = h.run(t, context.Background()); sum.ExitCode() != 0 {
			t.Errorf("mode %d: no recovery: %v", mode.fail, sum.Errors)
		}
	}
}

func TestCancelThenResume(t *testing.T) {
	h := newHarness(t, simserver.Behavior{Seed: 2, FlipProb: 0.5, Latency: time.Millisecond}, 100, []string{"sycophancy"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	h.cfg.Progress = func(p audit.Progress) {
		if p.Done >= 40 {
			cancel()
		}
	}
	sum := h.run(t, ctx)
	if !sum.Interrupted || sum.ExitCode() != 2 {
		t.Fatalf("interrupted=%v exit=%d", sum.Interrupted, sum.ExitCode())
	}
	h.cfg.Progress = nil
	full := h.run(t, context.Background())
	if full.ExitCode() != 1 || full.Tasks.Skipped != sum.Tasks.Done || full.Tasks.Skipped+full.Tasks.Done != full.Tasks.Total {
		t.Fatalf("resume: %+v exit %d %v", full.Tasks, full.ExitCode(), full.Errors)
	}
	// The resumed result equals a fresh uninterrupted run's.
	h2 := newHarness(t, simserver.Behavior{Seed: 2, FlipProb: 0.5}, 100, []string{"sycophancy"}, nil)
	fresh := h2.run(t, context.Background())
	a, b := full.Probes["sycophancy"], fresh.Probes["sycophancy"]
	if math.Abs(a.Estimate-b.Estimate) > 1e-12 || a.N != b.N {
		t.Errorf("resumed %v/%d vs fresh %v/%d", a.Estimate, a.N, b.Estimate, b.N)
	}
}

func TestPolicyFile(t *testing.T) {
	p, err := audit.ParsePolicy([]byte("probes:\n  sycophancy: {max: 0.5, stat: ci_low}\n  mirage.accuracy_deploy: {min: 0.9}\n"))
	if err != nil {
		t.Fatal(err)
	}
	reps := map[string]*audit.Report{
		"sycophancy": {Stat: audit.Stat{Estimate: 0.6, CILow: 0.45, CIHigh: 0.7}},
		"mirage":     {Stat: audit.Stat{Estimate: 0}, Metrics: map[string]audit.Stat{"accuracy_deploy": {Estimate: 0.8}}},
	}
	p.Apply(reps)
	if reps["sycophancy"].Flagged {
		t.Error("ci_low 0.45 <= 0.5 should hold")
	}
	if !reps["mirage"].Flagged || fmt.Sprint(reps["mirage"].MetricFlags) != "[accuracy_deploy]" {
		t.Errorf("metric rule not applied: %+v", reps["mirage"])
	}
	// A rule on a metric the probe did not produce (here a typo) flags it.
	typo, err := audit.ParsePolicy([]byte("probes:\n  mirage.accuracy_deplyo: {min: 0.5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	reps["mirage"].Metrics["accuracy_deploy"] = audit.Stat{Estimate: 0.99}
	typo.Apply(reps)
	if !reps["mirage"].Flagged || fmt.Sprint(reps["mirage"].MetricFlags) != "[accuracy_deplyo (not measured)]" {
		t.Errorf("a rule on a missing metric: %+v", reps["mirage"])
	}
	for _, bad := range []string{"", "probes:\n  nosuch: {max: 1}\n", "probes:\n  mirage: {}\n", "probes:\n  mirage: {max: 1, stat: median}\n", "probes:\n  mirage: {maximum: 1}\n"} {
		if _, err := audit.ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("accepted policy %q", bad)
		}
	}
}

// TestNeverRightIsNotAPass: a model that never answers correctly cannot
// flip, so the flip rate is undefined and the audit says so (exit 2)
// instead of passing.
func TestNeverRightIsNotAPass(t *testing.T) {
	h := newHarness(t, simserver.Behavior{Seed: 1, BaseAcc: 1e-9}, 20, []string{"sycophancy"}, nil)
	sum := h.run(t, context.Background())
	if sum.ExitCode() != 2 || !strings.Contains(sum.Probes["sycophancy"].Error, "undefined") {
		t.Errorf("exit %d, report %+v", sum.ExitCode(), sum.Probes["sycophancy"])
	}
}

// TestBadCredentialsStopAtOnce: a 401 cannot be fixed by asking again, so
// the run stops after the first one instead of failing sample after
// sample up to MaxErrors.
func TestBadCredentialsStopAtOnce(t *testing.T) {
	h := newHarness(t, simserver.Behavior{}, 30, []string{"sycophancy"}, nil)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error": {"message": "invalid api key"}}`))
	}))
	t.Cleanup(srv.Close)
	c, err := target.NewHTTP(target.HTTPConfig{BaseURL: srv.URL + "/v1", Model: "sim", MaxRetries: 2, BackoffBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h.cfg.Target, h.cfg.Concurrency, h.cfg.MaxErrors = c, 1, 10
	sum := h.run(t, context.Background())
	if sum.ExitCode() != 2 || calls.Load() != 1 {
		t.Fatalf("exit %d after %d requests (want 2 after 1); errors %v", sum.ExitCode(), calls.Load(), sum.Errors)
	}
}
