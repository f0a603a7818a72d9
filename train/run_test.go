package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// toyStepper fits w to noisy targets with AdamW on shuffled mini-batches:
// small, but it has every kind of state a real trainer has (weights,
// optimizer moments, data order, random draws, a step counter).
type toyStepper struct {
	w, g    []float32
	opt     *AdamW
	data    [][]float32
	sampler *Sampler
	step    int
	total   int
	nanAt   int // step (1-based) whose loss is NaN; 0 = never
}

func newToyStepper(seed int64, total int) *toyStepper {
	t := &toyStepper{w: make([]float32, 4), g: make([]float32, 4), total: total}
	t.opt = NewAdamW(4, AdamWConfig{LR: 0.05})
	for i := range 23 {
		x := float32(i)
		t.data = append(t.data, []float32{x * 0.1, 1 - x*0.05, float32(math.Sin(float64(x))), 0.5})
	}
	t.sampler = NewSampler(len(t.data), 5, seed)
	return t
}

func (t *toyStepper) Step() int     { return t.step }
func (t *toyStepper) NumSteps() int { return t.total }

func (t *toyStepper) TrainStep() (Metrics, error) {
	idx, _ := t.sampler.Next()
	clear(t.g)
	var loss float64
	for _, i := range idx {
		for j, y := range t.data[i] {
			d := t.w[j] - y
			loss += float64(d * d)
			t.g[j] += 2 * d / float32(len(idx))
		}
	}
	loss /= float64(len(idx))
	if t.step+1 == t.nanAt {
		return nil, fmt.Errorf("step %d: loss is NaN; lower the learning rate or check the data", t.step)
	}
	t.opt.Step(t.w, t.g, 0.05)
	t.step++
	return Metrics{"loss": loss, "epoch": t.sampler.Epoch(), "learning_rate": 0.05}, nil
}

func (t *toyStepper) Evaluate() (Metrics, error) {
	var s float64
	for _, w := range t.w {
		s += float64(w)
	}
	return Metrics{"loss": s}, nil
}

func (t *toyStepper) SaveState(dir string) error {
	if err := SaveBuffers(filepath.Join(dir, "w.safetensors"), []NamedBuffer{{"w", t.w}}, nil); err != nil {
		return err
	}
	if err := SaveAdamW(dir, "optimizer", t.opt); err != nil {
		return err
	}
	return WriteJSON(filepath.Join(dir, "trainer_state.json"), map[string]any{"step": t.step, "sampler": t.sampler.State()})
}

func (t *toyStepper) LoadState(dir string) error {
	if _, err := LoadBuffers(filepath.Join(dir, "w.safetensors"), []NamedBuffer{{"w", t.w}}); err != nil {
		return err
	}
	if err := LoadAdamW(dir, "optimizer", t.opt); err != nil {
		return err
	}
	var st struct {
		Step    int          `json:"step"`
		Sampler SamplerState `json:"sampler"`
	}
	if err := ReadJSON(filepath.Join(dir, "trainer_state.json"), &st); err != nil {
		return err
	}
	t.step = st.Step
	return t.sampler.SetState(st.Sampler)
}

func TestRunResumeIsExact(t *testing.T) {
	root := t.TempDir()
	cfg := LoopConfig{LoggingSteps: 3, EvalSteps: 4, SaveSteps: 5}

	// Uninterrupted.
	full, err := CreateRun(filepath.Join(root, "full"), map[string]int{"seed": 1})
	if err != nil {
		t.Fatal(err)
	}
	a := newToyStepper(1, 17)
	if err := full.Train(context.Background(), a, cfg); err != nil {
		t.Fatal(err)
	}
	full.Close()

	// Interrupted after step 7 (a checkpoint at 5 and one at 7), then
	// after a crash that lost nothing, resumed in a new process.
	dir := filepath.Join(root, "cut")
	cut, err := CreateRun(dir, map[string]int{"seed": 1})
	if err != nil {
		t.Fatal(err)
	}
	b := newToyStepper(1, 17)
	c := cfg
	c.StopAfter = 7
	if err := cut.Train(context.Background(), b, c); !errors.Is(err, ErrStopped) {
		t.Fatalf("stop_after: got %v, want ErrStopped", err)
	}
	cut.Close()
	// Simulate lines written after the checkpoint by a run that then died:
	// Resume must drop them.
	f, _ := os.OpenFile(filepath.Join(dir, RunMetricsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"step":8,"loss":123}` + "\n")
	f.Close()

	re, err := OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	b2 := newToyStepper(99, 17) // a wrong seed: the checkpoint's RNG state must win
	step, err := re.Resume(b2)
	if err != nil {
		t.Fatal(err)
	}
	if step != 7 || b2.Step() != 7 {
		t.Fatalf("resumed at %d (stepper %d), want 7", step, b2.Step())
	}
	if err := re.Train(context.Background(), b2, cfg); err != nil {
		t.Fatal(err)
	}
	re.Close()

	if !reflect.DeepEqual(a.w, b2.w) {
		t.Fatalf("weights differ: %v vs %v", a.w, b2.w)
	}
	want, _ := os.ReadFile(filepath.Join(root, "full", RunMetricsFile))
	got, _ := os.ReadFile(filepath.Join(dir, RunMetricsFile))
	if string(want) != string(got) {
		t.Fatalf("metrics differ:\nuninterrupted:\n%s\nresumed:\n%s", want, got)
	}
	ms, err := ReadMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Logs at 3,6,9,12,15,17; evals at 4,8,12,16,17.
	if len(ms) != 11 {
		t.Fatalf("got %d metric lines, want 11", len(ms))
	}
	steps, _ := re.Checkpoints()
	if !reflect.DeepEqual(steps, []int{5, 7, 10, 15, 17}) {
		t.Fatalf("checkpoints %v", steps)
	}
}

func TestRunStopsOnNaNKeepingLastCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	r, err := CreateRun(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newToyStepper(1, 20)
	s.nanAt = 8
	err = r.Train(context.Background(), s, LoopConfig{SaveSteps: 3})
	if err == nil || !strings.Contains(err.Error(), "NaN") || !strings.Contains(err.Error(), "step-6") {
		t.Fatalf("got %v, want a NaN error naming checkpoint step-6", err)
	}
	r.Close()
	re, _ := OpenRun(dir)
	s2 := newToyStepper(1, 20)
	if step, err := re.Resume(s2); err != nil || step != 6 {
		t.Fatalf("resume: step %d, %v", step, err)
	}
	ms, _ := ReadMetrics(dir)
	if last := ms[len(ms)-1]["step"]; last != 6 {
		t.Fatalf("metrics run to step %v after resume, want 6", last)
	}
}

func TestRunCheckpointLimitAndLatest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	r, err := CreateRun(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.SaveTotalLimit = 2
	if err := r.Train(context.Background(), newToyStepper(3, 9), LoopConfig{SaveSteps: 2}); err != nil {
		t.Fatal(err)
	}
	steps, _ := r.Checkpoints()
	if !reflect.DeepEqual(steps, []int{8, 9}) {
		t.Fatalf("kept %v, want [8 9]", steps)
	}
	d, step, ok, err := r.LatestCheckpoint()
	if err != nil || !ok || step != 9 || filepath.Base(d) != "step-9" {
		t.Fatalf("latest %s %d %v %v", d, step, ok, err)
	}
	// A half-written checkpoint (no run_state.json) is never chosen.
	os.MkdirAll(filepath.Join(dir, RunCheckpoints, "step-12"), 0o755)
	os.Remove(filepath.Join(dir, RunCheckpoints, latestFile))
	if _, step, _, _ := r.LatestCheckpoint(); step != 9 {
		t.Fatalf("fell back to step %d, want 9", step)
	}
	if _, err := CreateRun(dir, nil); err == nil {
		t.Fatal("CreateRun over an existing run succeeded")
	}
}

func TestScheduleFactor(t *testing.T) {
	cases := []struct {
		kind                string
		step, warmup, total int
		want                float64
	}{
		{"linear", 0, 0, 10, 1},
		{"linear", 5, 0, 10, 0.5},
		{"linear", 1, 2, 10, 0.5},
		{"linear", 2, 2, 10, 1},
		{"linear", 6, 2, 10, 0.5},
		{"cosine", 5, 0, 10, 0.5},
		{"cosine", 10, 0, 10, 0},
		{"constant", 3, 5, 10, 1},
		{"constant_with_warmup", 1, 4, 10, 0.25},
	}
	for _, c := range cases {
		if got := ScheduleFactor(c.kind, c.step, c.warmup, c.total); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s step %d warmup %d total %d: %g, want %g", c.kind, c.step, c.warmup, c.total, got, c.want)
		}
	}
}

func TestMetricsLineEncoding(t *testing.T) {
	got := string(encodeMetrics(3, map[string]float64{"loss": 0.5, "rewards/accuracies": 1, "bad": math.NaN()}))
	want := `{"step":3,"bad":null,"loss":0.5,"rewards/accuracies":1}` + "\n"
	if got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

// noEvalStepper is a trainer without eval data: Evaluate returns no metrics.
type noEvalStepper struct{ *toyStepper }

func (noEvalStepper) Evaluate() (Metrics, error) { return Metrics{}, nil }

// TestRunSkipsEmptyEvaluation checks that a trainer with nothing to
// evaluate leaves no eval lines in the metrics log or the progress output.
func TestRunSkipsEmptyEvaluation(t *testing.T) {
	r, err := CreateRun(filepath.Join(t.TempDir(), "run"), map[string]int{"seed": 1})
	if err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	r.Progress = &progress
	if err := r.Train(context.Background(), noEvalStepper{newToyStepper(1, 6)}, LoopConfig{LoggingSteps: 2, EvalSteps: 2}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	data, err := os.ReadFile(filepath.Join(r.Dir, RunMetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 { // steps 2, 4 and 6: training metrics only
		t.Errorf("got %d metrics lines, want 3:\n%s", len(lines), data)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"loss"`) {
			t.Errorf("metrics line without metrics: %s", l)
		}
	}
	if strings.Contains(progress.String(), "eval at step") {
		t.Errorf("progress shows an empty evaluation:\n%s", progress.String())
	}
}

// TestRunDiscard checks that Discard removes a run directory CreateRun
// made when training never started, and keeps any other.
func TestRunDiscard(t *testing.T) {
	root := t.TempDir()
	fresh, err := CreateRun(filepath.Join(root, "fresh"), map[string]int{"seed": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a run that never trained is still there: %v", err)
	}
	// A directory the user made beforehand is theirs.
	mine := filepath.Join(root, "mine")
	if err := os.Mkdir(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := CreateRun(mine, map[string]int{"seed": 1})
	if err != nil {
		t.Fatal(err)
	}
	r.Discard()
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a directory that existed before was removed: %v", err)
	}
	// A run that has trained is kept, whatever failed after.
	trained, err := CreateRun(filepath.Join(root, "trained"), map[string]int{"seed": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := trained.Train(context.Background(), newToyStepper(1, 2), LoopConfig{}); err != nil {
		t.Fatal(err)
	}
	trained.Discard()
	if _, err := os.Stat(filepath.Join(trained.Dir, RunConfigFile)); err != nil {
		t.Errorf("a trained run was removed: %v", err)
	}
}

// A run open in one process cannot be opened or created in another (here,
// a second Run in the same process, which flock tells apart the same way)
// until the first closes it, and RunInUse tells the two states apart.
func TestRunLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no run lock where flock is missing")
	}
	dir := filepath.Join(t.TempDir(), "run")
	r, err := CreateRun(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRun(dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("OpenRun of an open run: %v, want 'in use'", err)
	}
	if !RunInUse(dir) {
		t.Error("RunInUse: an open run is not in use")
	}
	r.Close()
	if RunInUse(dir) {
		t.Error("RunInUse: a closed run is in use")
	}
	r2, err := OpenRun(dir)
	if err != nil {
		t.Fatalf("OpenRun after Close: %v", err)
	}
	r2.Close()
}

// What a killed process leaves mid-write (temporary checkpoint and model
// directories, a checkpoint half removed) is removed when the run is
// opened; complete checkpoints stay.
func TestOpenRunRemovesLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	r, err := CreateRun(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), newToyStepper(1, 4), LoopConfig{SaveSteps: 2}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	ck := filepath.Join(dir, RunCheckpoints)
	stale := []string{filepath.Join(ck, ".tmp-step-123"), filepath.Join(ck, ".tmp-removed-step-1"), filepath.Join(dir, ".tmp-model-9"), filepath.Join(ck, "step-3")}
	for _, d := range stale {
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "model.safetensors"), []byte("partial"), 0o644)
	}
	r, err = OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, d := range stale {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s left in place", d)
		}
	}
	if steps, _ := r.Checkpoints(); !reflect.DeepEqual(steps, []int{2, 4}) {
		t.Errorf("checkpoints %v after opening, want [2 4]", steps)
	}
}

// A run stopped before its first checkpoint resumes at step 0 with its
// metrics emptied, and then trains exactly as an uninterrupted run.
func TestResumeWithoutCheckpointStartsOver(t *testing.T) {
	root := t.TempDir()
	full, _ := CreateRun(filepath.Join(root, "full"), nil)
	a := newToyStepper(1, 6)
	if err := full.Train(context.Background(), a, LoopConfig{LoggingSteps: 1, SaveSteps: 3}); err != nil {
		t.Fatal(err)
	}
	full.Close()

	dir := filepath.Join(root, "early")
	r, _ := CreateRun(dir, nil)
	r.LogMetrics(1, map[string]float64{"loss": 123}) // logged, then killed before step 3's checkpoint
	r.Close()
	re, err := OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := newToyStepper(1, 6)
	step, err := re.Resume(b)
	if err != nil || step != 0 {
		t.Fatalf("resume: step %d, %v; want 0", step, err)
	}
	if err := re.Train(context.Background(), b, LoopConfig{LoggingSteps: 1, SaveSteps: 3}); err != nil {
		t.Fatal(err)
	}
	re.Close()
	want, _ := os.ReadFile(filepath.Join(root, "full", RunMetricsFile))
	got, _ := os.ReadFile(filepath.Join(dir, RunMetricsFile))
	if string(want) != string(got) || !reflect.DeepEqual(a.w, b.w) {
		t.Fatalf("restarted run differs:\n%s\nwant\n%s", got, want)
	}
}

// Where the run is (epoch, learning rate, tokens and, for the RL
// trainers, episodes) is logged as its latest value, not the window's
// mean: after 2 steps of 8 episodes, episode 16, not 12.
func TestLogWindowKeepsPositionMetrics(t *testing.T) {
	var w logWindow
	w.add(Metrics{"episode": 8, "lr": 2e-3, "loss": 1})
	w.add(Metrics{"episode": 16, "lr": 1e-3, "loss": 3})
	m := w.mean()
	if m["episode"] != 16 || m["lr"] != 1e-3 || m["loss"] != 2 {
		t.Fatalf("window gives %v; want episode 16, lr 1e-3 (latest) and loss 2 (mean)", m)
	}
}
