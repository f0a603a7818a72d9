package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/alignlab/alignlab/store"
	"github.com/alignlab/alignlab/target"
)

// Config is one audit: which probes, against what, and where results go.
type Config struct {
	Probes  []string
	Options Options
	Target  target.Target
	Store   *store.Store
	// RunID names the run; empty derives it from Identity, so the same
	// command resumes the same run.
	RunID string
	// Identity is everything that defines the run (target, model, suite,
	// n, seed, probes, parameters), recorded with it; a run is resumed
	// only under the same identity.
	Identity    map[string]any
	Concurrency int
	Params      target.Params
	MaxErrors   int
	Policy      *Policy
	Progress    func(Progress)
}

// Summary is an audit's outcome; its JSON form is what --json prints.
type Summary struct {
	RunID   string             `json:"run_id"`
	Target  string             `json:"target"`
	Probes  map[string]*Report `json:"probes"`
	Pass    bool               `json:"pass"`
	Errors  []string           `json:"errors,omitempty"`
	Resumed bool               `json:"resumed"`
	Tasks   struct {
		Total   int `json:"total"`
		Skipped int `json:"resumed_from_store"`
		Done    int `json:"done"`
		Failed  int `json:"failed"`
	} `json:"tasks"`
	// Interrupted is set when the run stopped early (SIGINT).
	Interrupted bool `json:"interrupted,omitempty"`
}

// ExitCode is the gate's verdict: 0 all rules hold, 1 a rule fails, 2 the
// audit could not complete (errors, interruption).
func (s *Summary) ExitCode() int {
	switch {
	case len(s.Errors) > 0 || s.Interrupted:
		return 2
	case !s.Pass:
		return 1
	}
	return 0
}

// RunIDFor derives a stable run id from a run's identity.
func RunIDFor(identity map[string]any) (string, string, error) {
	b, err := json.Marshal(identity) // map keys marshal sorted
	if err != nil {
		return "", "", fmt.Errorf("encode run identity: %w", err)
	}
	sum := sha256.Sum256(b)
	return "audit-" + hex.EncodeToString(sum[:6]), string(b), nil
}

// Run builds every probe's tasks, runs those not yet stored, analyzes all
// stored results and applies the policy. Probe and task errors are
// collected in the summary (exit code 2) rather than returned; the
// returned error is for failures of the harness itself (the store).
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if len(cfg.Probes) == 0 {
		return nil, errors.New("no probes selected")
	}
	if cfg.Policy == nil {
		cfg.Policy = DefaultPolicy()
	}
	id, identity, err := RunIDFor(cfg.Identity)
	if err != nil {
		return nil, err
	}
	if cfg.RunID == "" {
		cfg.RunID = id
	}
	sum := &Summary{RunID: cfg.RunID, Target: cfg.Target.Name(), Probes: map[string]*Report{}}
	opts := cfg.Options
	var tasks []Task
	var probes []Probe
	for _, name := range cfg.Probes {
		p, err := ProbeByName(name)
		if err != nil {
			return nil, err
		}
		t, err := p.Tasks(ctx, &opts)
		if err != nil {
			sum.Probes[name] = &Report{Error: err.Error()}
			sum.Errors = append(sum.Errors, name+": "+err.Error())
			continue
		}
		probes = append(probes, p)
		tasks = append(tasks, t...)
	}
	sum.Resumed, err = cfg.Store.StartRun(ctx, store.Run{ID: cfg.RunID, Target: cfg.Target.Name(), Model: fmt.Sprint(cfg.Identity["model"]), Config: identity})
	if err != nil {
		return nil, err
	}
	sum, err = run(ctx, cfg, sum, probes, tasks, &opts)
	if err != nil {
		// Not left "running": a failure of the harness is recorded, with
		// what it was, so 'runs ls' does not show the run as in progress.
		failed := &Summary{RunID: sum.RunID, Target: sum.Target, Errors: append(sum.Errors, err.Error()),
			Resumed: sum.Resumed, Tasks: sum.Tasks, Interrupted: sum.Interrupted}
		js, _ := json.Marshal(failed) // no probe reports: nothing that can fail to encode
		if ferr := cfg.Store.FinishRun(context.WithoutCancel(ctx), cfg.RunID, "failed", string(js)); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return nil, err
	}
	return sum, nil
}

// run is Run after the run is recorded as started: it runs the tasks,
// analyzes the results and records the summary. On an error it returns
// sum as far as it got, for the failed run's record.
func run(ctx context.Context, cfg Config, sum *Summary, probes []Probe, tasks []Task, opts *Options) (*Summary, error) {
	runner := &Runner{Store: cfg.Store, RunID: cfg.RunID, Target: cfg.Target, Params: cfg.Params, Seed: opts.Seed,
		Concurrency: cfg.Concurrency, MaxErrors: cfg.MaxErrors, Progress: cfg.Progress}
	st, runErr := runner.Run(ctx, tasks)
	sum.Tasks.Total, sum.Tasks.Skipped, sum.Tasks.Done, sum.Tasks.Failed = st.Total, st.Skipped, st.Done, st.Failed
	if runErr != nil {
		if ctx.Err() != nil {
			sum.Interrupted = true
		}
		sum.Errors = append(sum.Errors, runErr.Error())
	}
	actx := context.WithoutCancel(ctx)
	results, err := LoadResults(actx, cfg.Store, cfg.RunID)
	if err != nil {
		return sum, err
	}
	byProbe := map[string][]Result{}
	for _, r := range results {
		byProbe[r.Probe] = append(byProbe[r.Probe], r)
	}
	for _, p := range probes {
		rep, err := p.Analyze(byProbe[p.Name()], opts)
		if err != nil {
			rep = &Report{Error: err.Error()}
			if runErr == nil {
				sum.Errors = append(sum.Errors, p.Name()+": "+err.Error())
			}
		}
		if rep.Details == nil {
			rep.Details = map[string]any{}
		}
		rep.Details["estimand"] = p.Estimand()
		sum.Probes[p.Name()] = rep
	}
	cfg.Policy.Apply(sum.Probes)
	sum.Pass = true
	for _, rep := range sum.Probes {
		if rep.Flagged || rep.Error != "" {
			sum.Pass = false
		}
	}
	status := "done"
	switch {
	case sum.Interrupted:
		status = "interrupted"
	case len(sum.Errors) > 0:
		status = "failed"
	}
	js, err := json.Marshal(sum)
	if err != nil {
		return sum, fmt.Errorf("encode summary: %w", err)
	}
	if err := cfg.Store.FinishRun(actx, cfg.RunID, status, string(js)); err != nil {
		return sum, err
	}
	return sum, nil
}
