package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alignlab/alignlab/store"
	"github.com/alignlab/alignlab/target"
)

// Task is one unit of work: a sample asked by a solver and judged by a
// scorer, against a target. Its ID is unique within the run and stable
// across reruns; it is the key that makes resuming exactly-once.
type Task struct {
	ID     string
	Probe  string
	Sample Sample
	Solver Solver
	Scorer Scorer
	// Target overrides the runner's target (overhang's checkpoints).
	Target target.Target
	// Temperature overrides the base temperature when set.
	Temperature *float64
	// SeedKey, when set, derives the task's seed instead of ID: tasks
	// with one key sample from the same stream (see Options.PairedSeeds).
	SeedKey string
}

// Result is a finished task as stored: the responses, their scores and
// measurements, and the sample's metadata for the analysis.
type Result struct {
	ID       string             `json:"id"`
	Probe    string             `json:"probe"`
	SampleID string             `json:"sample_id"`
	Target   string             `json:"target"`
	Expected string             `json:"expected"`
	Meta     map[string]string  `json:"meta,omitempty"`
	Outputs  []string           `json:"outputs"`
	Scores   []Score            `json:"scores"`
	Extra    map[string]float64 `json:"extra,omitempty"`
}

// Correct reports whether output i was scored correct.
func (r Result) Correct(i int) bool { return i < len(r.Scores) && r.Scores[i].Correct() }

// PassRate is the fraction of outputs scored correct.
func (r Result) PassRate() float64 {
	if len(r.Scores) == 0 {
		return 0
	}
	k := 0
	for _, s := range r.Scores {
		if s.Correct() {
			k++
		}
	}
	return float64(k) / float64(len(r.Scores))
}

// Progress is reported as tasks finish.
type Progress struct {
	Total, Skipped, Done, Failed int
	Elapsed                      time.Duration
}

// Runner executes tasks concurrently and records each finished one.
type Runner struct {
	Store       *store.Store
	RunID       string
	Target      target.Target
	Params      target.Params // base parameters; each task gets its own seed
	Seed        int64
	Concurrency int
	// MaxErrors stops the run after this many failed tasks (default 10);
	// a fatal error (bad key, wrong URL) stops it at once.
	MaxErrors int
	// Progress, if set, is called after each stored batch (one goroutine).
	Progress func(Progress)
}

// RunStats says how a Run went.
type RunStats struct {
	Total, Skipped, Done, Failed int
	// FirstErr is the first task failure, if any.
	FirstErr error
}

// taskSeed derives a task's seed from the run seed and the task ID, so a
// task samples the same way whatever order tasks run in. It stays below
// 2^31 because some servers take 32-bit seeds.
func taskSeed(seed int64, id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatInt(seed, 10)))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return int64(h.Sum64() % (1 << 31))
}

type outcome struct {
	res *Result
	err error
}

// Run executes the tasks not yet stored for the run. Each result commits
// in the store as it finishes (batched transactions), so cancelling ctx
// (SIGINT) or killing the process loses only the tasks in flight. It
// returns an error when tasks failed or ctx was cancelled; the stats say
// how far it got either way.
func (r *Runner) Run(ctx context.Context, tasks []Task) (RunStats, error) {
	st := RunStats{Total: len(tasks)}
	done, err := r.Store.DoneSamples(ctx, r.RunID)
	if err != nil {
		return st, err
	}
	var todo []Task
	seen := make(map[string]bool, len(tasks))
	for _, t := range tasks {
		if seen[t.ID] {
			return st, fmt.Errorf("task id %q appears twice (a probe bug)", t.ID)
		}
		seen[t.ID] = true
		if done[t.ID] {
			st.Skipped++
		} else {
			todo = append(todo, t)
		}
	}
	conc := max(1, r.Concurrency)
	maxErr := r.MaxErrors
	if maxErr <= 0 {
		maxErr = 10
	}
	work, stop := context.WithCancel(ctx)
	defer stop()
	var failures atomic.Int64
	feed := make(chan Task)
	out := make(chan outcome, conc)
	var wg sync.WaitGroup
	for range min(conc, max(1, len(todo))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range feed {
				if work.Err() != nil {
					continue // stopped: leave the task for the resume
				}
				res, err := r.execute(work, t)
				// Count failures here, not only in the collector, so that
				// workers stop taking tasks as soon as the limit is reached
				// rather than after the collector catches up.
				if err != nil && !(work.Err() != nil && errors.Is(err, context.Canceled)) {
					if target.Fatal(err) || failures.Add(1) >= int64(maxErr) {
						stop()
					}
				}
				out <- outcome{res, err}
			}
		}()
	}
	go func() {
		defer close(feed)
		for _, t := range todo {
			select {
			case feed <- t:
			case <-work.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(out) }()

	start := time.Now()
	var batch []store.Sample
	var storeErr error
	flush := func() {
		if len(batch) == 0 || storeErr != nil {
			return
		}
		// Commit even when ctx is cancelled: finished work must not be lost.
		n, err := r.Store.PutSamples(context.WithoutCancel(ctx), batch)
		if err != nil {
			storeErr = err
			stop()
			return
		}
		st.Done += n
		batch = batch[:0]
		if r.Progress != nil {
			r.Progress(Progress{Total: st.Total, Skipped: st.Skipped, Done: st.Done, Failed: st.Failed, Elapsed: time.Since(start)})
		}
	}
	for {
		o, ok := <-out
		if !ok {
			break
		}
		r.collect(o, &st, &batch, stop, maxErr, work)
		// Take whatever else is ready, then commit it as one transaction.
	drain:
		for len(batch) < 256 {
			select {
			case o, ok := <-out:
				if !ok {
					break drain
				}
				r.collect(o, &st, &batch, stop, maxErr, work)
			default:
				break drain
			}
		}
		flush()
	}
	flush()
	switch {
	case storeErr != nil:
		return st, storeErr
	case ctx.Err() != nil:
		return st, fmt.Errorf("interrupted after %d of %d tasks (results so far are stored; rerun to resume): %w",
			st.Done+st.Skipped, st.Total, ctx.Err())
	case st.Failed > 0 || st.Done+st.Skipped < st.Total:
		return st, fmt.Errorf("%d of %d tasks failed or did not run (rerun the same command to resume); first error: %w",
			st.Total-st.Done-st.Skipped, st.Total, st.FirstErr)
	}
	return st, nil
}

func (r *Runner) collect(o outcome, st *RunStats, batch *[]store.Sample, stop func(), maxErr int, work context.Context) {
	if o.err != nil {
		if work.Err() != nil && errors.Is(o.err, context.Canceled) {
			return // in flight when the run stopped: will be redone
		}
		st.Failed++
		if st.FirstErr == nil {
			st.FirstErr = o.err
		}
		if target.Fatal(o.err) || st.Failed >= maxErr {
			stop()
		}
		return
	}
	data, err := json.Marshal(o.res)
	if err != nil {
		st.Failed++
		if st.FirstErr == nil {
			st.FirstErr = err
		}
		return
	}
	sm := store.Sample{RunID: r.RunID, SampleID: o.res.ID, Probe: o.res.Probe, Data: data}
	for i, sc := range o.res.Scores {
		sm.Scores = append(sm.Scores, store.Score{Turn: i, Scorer: "score", Value: sc.Value, Answer: sc.Answer})
	}
	if p, ok := o.res.Extra["proxy"]; ok {
		sm.Scores = append(sm.Scores, store.Score{Turn: len(o.res.Scores) - 1, Scorer: "proxy", Value: p})
	}
	*batch = append(*batch, sm)
}

// execute runs one task: solver, then the scorer on every output.
func (r *Runner) execute(ctx context.Context, t Task) (*Result, error) {
	tg := t.Target
	if tg == nil {
		tg = r.Target
	}
	return runTask(ctx, t, tg, r.Params, r.Seed)
}

// runTask runs one task against tg: solver, then the scorer on every
// output. The task's seed derives from the run seed and its ID.
func runTask(ctx context.Context, t Task, tg target.Target, base target.Params, seed int64) (*Result, error) {
	p := base
	key := t.ID
	if t.SeedKey != "" {
		key = t.SeedKey
	}
	p.Seed, p.HasSeed = taskSeed(seed, key), true
	if t.Temperature != nil {
		p.Temperature = *t.Temperature
	}
	env := &Env{Target: tg, Params: p}
	st := &State{Sample: t.Sample, Messages: append([]target.Message(nil), t.Sample.Input...), Extra: map[string]float64{}}
	if err := t.Solver(ctx, env, st); err != nil {
		return nil, fmt.Errorf("task %s: %w", t.ID, err)
	}
	res := &Result{ID: t.ID, Probe: t.Probe, SampleID: t.Sample.ID, Target: tg.Name(), Expected: t.Sample.Target,
		Meta: t.Sample.Metadata, Outputs: st.Outputs, Extra: st.Extra}
	if len(res.Extra) == 0 {
		res.Extra = nil
	}
	for _, out := range st.Outputs {
		sc, err := t.Scorer.Score(ctx, t.Sample, out)
		if err != nil {
			return nil, fmt.Errorf("task %s: score: %w", t.ID, err)
		}
		res.Scores = append(res.Scores, sc)
	}
	return res, nil
}

// LoadResults reads a run's stored results.
func LoadResults(ctx context.Context, s *store.Store, runID string) ([]Result, error) {
	rows, err := s.Samples(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(rows))
	for _, row := range rows {
		var r Result
		if err := json.Unmarshal(row.Data, &r); err != nil {
			return nil, fmt.Errorf("stored sample %s is unreadable: %w", row.SampleID, err)
		}
		out = append(out, r)
	}
	return out, nil
}
