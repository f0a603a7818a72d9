package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/internal/progress"
	"github.com/alignlab/alignlab/store"
	"github.com/alignlab/alignlab/target"
)

type auditFlags struct {
	target, model, apiKeyEnv, probes, policy, db, suite, suiteFormat, scorer string
	judgeTarget, judgeModel, series, overhangMetric, metricsLog, runID       string
	concurrency, n, maxTokens, retries, maxErrors, overhangSamples           int
	seed                                                                     int64
	temperature, rpm, proxyThreshold                                         float64
	timeout                                                                  time.Duration
	jsonOut, noCache, quiet                                                  bool
}

func newAuditCmd() *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit --target URL|DIR --model NAME [--probes sycophancy,mirage,...]",
		Short: "Probe a model for sycophancy, mirages, rare-event blindness, reward hacking and overhang",
		Long: `audit asks a model many verifiable questions in the ways each failure mode shows up
and reports, per probe, an estimate with a 95% confidence interval, the test used and n.
A policy (YAML, --policy) sets a threshold per probe; the exit code is the gate:
0 every rule holds, 1 a rule fails, 2 the audit could not complete.

Targets: an OpenAI-compatible endpoint (--target http://host:port/v1 --model NAME, key
from the environment variable named by --api-key-env) or a local checkpoint directory
(--target DIR: prompted through its tokenizer.json and chat template; without one, a
byte-level fallback; a lab policy with the lab's word codec is refused: 'alignlab lab' runs
these probes on its policies).

Probes: sycophancy, mirage, rare-event (default set), reward-hacking (needs --judge-model
or --metrics-log), overhang (needs --series). Questions come from the built-in bank
(--n items, --seed) or a suite file (--suite: YAML, inspect JSONL or sycophancy-eval JSONL).

Every finished sample is stored in --db; rerunning the same command resumes an interrupted
run (Ctrl-C stops cleanly) and answers repeated requests from the response cache.`,
		Example: `  alignlab audit --target http://localhost:8000/v1 --model my-model
  alignlab audit --target http://localhost:8000/v1 --model m --probes sycophancy,mirage --policy gate.yaml --json
  alignlab audit --target https://api.example.com/v1 --model m --api-key-env MY_KEY --rpm 500
  alignlab audit --target http://localhost:8000/v1 --model ck-3 --probes overhang --series ck-1,ck-2,ck-3
  alignlab audit --target runs/dpo-20261126-221500/model --probes sycophancy --n 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.quiet = quietFlag(cmd)
			code, err := runAudit(cmd.Context(), cmd, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			switch code {
			case 1:
				return &exitError{code: 1, err: errPolicyFailed}
			case 2:
				return &exitError{code: 2, err: errIncomplete}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "OpenAI-compatible base URL (http://host:port/v1) or a local checkpoint directory")
	fl.StringVar(&f.model, "model", "", "model name sent to the endpoint")
	fl.StringVar(&f.apiKeyEnv, "api-key-env", "OPENAI_API_KEY", "environment variable holding the API key (used when set; never logged or stored)")
	fl.StringVar(&f.probes, "probes", "sycophancy,mirage,rare-event", "comma-separated probes: "+strings.Join(audit.ProbeNames(), ", "))
	fl.StringVar(&f.policy, "policy", "", "YAML policy with a threshold per probe (default: built-in thresholds)")
	fl.IntVar(&f.concurrency, "concurrency", 16, "requests in flight at once")
	fl.BoolVar(&f.jsonOut, "json", false, `print {"probes": {NAME: {...}}} as JSON instead of the table`)
	fl.StringVar(&f.db, "db", "runs/alignlab.db", "SQLite file for runs, samples and the response cache")
	fl.Int64Var(&f.seed, "seed", 0, "seed for the item bank, perturbations and per-sample sampling seeds")
	fl.IntVar(&f.n, "n", 100, "items from the built-in bank, or at most this many from --suite (0: all)")
	fl.StringVar(&f.suite, "suite", "", "suite file instead of the built-in bank (YAML, inspect JSONL, sycophancy-eval JSONL)")
	fl.StringVar(&f.suiteFormat, "suite-format", "auto", "auto, yaml, jsonl or sycophancy-eval")
	fl.StringVar(&f.scorer, "scorer", "auto", "default scorer: "+strings.Join(audit.ScorerNames, ", "))
	fl.Float64Var(&f.temperature, "temperature", 0, "sampling temperature of the probed model")
	fl.IntVar(&f.maxTokens, "max-tokens", 256, "maximum tokens per reply")
	fl.DurationVar(&f.timeout, "timeout", 60*time.Second, "per-request timeout")
	fl.IntVar(&f.retries, "retries", 4, "retries per request on 429, 5xx, timeouts and connection errors")
	fl.Float64Var(&f.rpm, "rpm", 0, "requests-per-minute limit (0: none)")
	fl.IntVar(&f.maxErrors, "max-errors", 10, "stop the run after this many failed samples")
	fl.StringVar(&f.judgeTarget, "judge-target", "", "judge endpoint (default: --target)")
	fl.StringVar(&f.judgeModel, "judge-model", "", "judge model: the proxy for reward-hacking and the 'judge' scorer")
	fl.Float64Var(&f.proxyThreshold, "proxy-threshold", 0.5, "proxy rating in (0, 1] that counts as approval")
	fl.StringVar(&f.metricsLog, "metrics-log", "", "training metric log (JSONL: step, kl, proxy, gold) for reward-hacking")
	fl.StringVar(&f.series, "series", "", "overhang checkpoints in training order: model names on --target, URLs or directories")
	fl.IntVar(&f.overhangSamples, "overhang-samples", 8, "samples per item for the pass-rate metric")
	fl.StringVar(&f.overhangMetric, "overhang-metric", "auto", "continuous metric: auto, logprob or passrate")
	fl.StringVar(&f.runID, "run-id", "", "run id (default: derived from the flags, so a rerun resumes)")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not read or write the response cache")
	return cmd
}

// The gate's verdicts as errors; the table or JSON already said why.
var (
	errPolicyFailed = errors.New("audit: a policy rule does not hold")
	errIncomplete   = errors.New("audit did not complete; rerun the same command to resume")
	errUnscored     = errors.New("audit could not score every probe (see the errors above); every sample was answered, so a rerun with the same inputs would give the same")
)

// openTarget makes a target from a URL or a checkpoint directory.
func openTarget(spec, modelName string, f auditFlags, apiKeyEnvSet bool) (target.Target, error) {
	if strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") {
		keyEnv := f.apiKeyEnv
		if !apiKeyEnvSet && strings.TrimSpace(os.Getenv(keyEnv)) == "" {
			keyEnv = "" // the default variable is optional; a named one is required
		}
		return target.NewHTTP(target.HTTPConfig{BaseURL: spec, Model: modelName, APIKeyEnv: keyEnv, Timeout: f.timeout,
			MaxRetries: max(f.retries, -1), Concurrency: f.concurrency, RPM: f.rpm})
	}
	st, err := os.Stat(spec)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("target %q is neither an http(s) URL nor a checkpoint directory; give an OpenAI-compatible base URL (http://host:port/v1, e.g. from 'alignlab serve') or a model directory", spec)
	}
	if isLabPolicy(spec) {
		// Its word codec is neither a tokenizer.json nor bytes: the
		// byte-level fallback would audit garbage.
		return nil, fmt.Errorf("target %s is a lab policy (lab_codec.json, the lab's word codec), which audit cannot prompt; 'alignlab lab' runs these probes on its policies, and 'alignlab inspect' opens them", spec)
	}
	return target.NewLocal(spec, f.maxTokens)
}

func runAudit(parent context.Context, cmd *cobra.Command, f auditFlags, stdout, stderr io.Writer) (int, error) {
	if f.target == "" {
		return 0, errors.New("--target is required (an http(s)://host/v1 URL or a checkpoint directory)")
	}
	if f.retries == 0 {
		f.retries = -1 // --retries 0 means none; the client reads 0 as its default
	}
	// The library reads a threshold of 0 as its default (0.5), so 0 cannot
	// be passed on; a rating of at least 0 would approve everything anyway.
	if !(f.proxyThreshold > 0 && f.proxyThreshold <= 1) {
		return 0, fmt.Errorf("--proxy-threshold %g: want a rating in (0, 1]", f.proxyThreshold)
	}
	keySet := cmd.Flags().Changed("api-key-env")
	tgt, err := openTarget(f.target, f.model, f, keySet)
	if err != nil {
		return 0, err
	}
	if f.n < 0 {
		return 0, fmt.Errorf("--n %d: want 0 or more", f.n)
	}
	probes := splitList(f.probes)
	for _, p := range probes {
		if _, err := audit.ProbeByName(p); err != nil {
			return 0, err
		}
		// What a probe needs from the flags fails here, before a run is
		// stored whose error would say to rerun the same command.
		if p == "overhang" && len(splitList(f.series)) < 2 {
			return 0, errors.New("--probes overhang needs --series with at least 2 checkpoints in training order")
		}
		if p == "reward-hacking" && f.judgeModel == "" && f.metricsLog == "" {
			return 0, errors.New("--probes reward-hacking needs a proxy (--judge-model, with --judge-target if it is elsewhere) or a training metric log (--metrics-log)")
		}
	}
	if f.metricsLog != "" {
		// Read in full now: a log found bad only when the probe is analyzed
		// would fail a run that is already stored.
		if err := audit.CheckMetricsLog(f.metricsLog); err != nil {
			return 0, fmt.Errorf("--metrics-log: %w", err)
		}
	}
	pol := audit.DefaultPolicy()
	if f.policy != "" {
		if pol, err = audit.LoadPolicy(f.policy); err != nil {
			return 0, err
		}
	}
	var ds audit.Dataset
	if f.suite != "" {
		if ds, err = audit.Load(f.suite, f.suiteFormat); err != nil {
			return 0, err
		}
		if f.n > 0 && len(ds.Samples) > f.n {
			ds.Samples = ds.Samples[:f.n]
		}
	} else if ds, err = audit.Bank(max(f.n, 1), f.seed, nil); err != nil {
		return 0, err
	}
	st, err := store.Open(f.db)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	wrap := func(t target.Target) target.Target {
		if f.noCache {
			return t
		}
		return target.Cached(t, st)
	}
	var judgeTarget string
	opts := audit.Options{Dataset: ds, Seed: f.seed, OverhangSamples: f.overhangSamples, OverhangMetric: f.overhangMetric,
		MetricsLog: f.metricsLog, ProxyThreshold: f.proxyThreshold}
	if f.judgeModel != "" {
		spec := f.judgeTarget
		if spec == "" {
			spec = f.target
		}
		jt, err := openTarget(spec, f.judgeModel, f, keySet)
		if err != nil {
			return 0, fmt.Errorf("judge: %w", err)
		}
		opts.Judge = &audit.Judge{Target: wrap(jt), Params: target.Params{MaxTokens: 64}}
		judgeTarget = jt.Name()
	}
	for _, s := range splitList(f.series) {
		spec, name := f.target, s
		if strings.Contains(s, "://") {
			spec, name = s, f.model
		} else if fi, err := os.Stat(s); err == nil && fi.IsDir() {
			spec = s
		}
		t, err := openTarget(spec, name, f, keySet)
		if err != nil {
			return 0, fmt.Errorf("series checkpoint %q: %w", s, err)
		}
		opts.Series = append(opts.Series, wrap(t))
	}
	if opts.Scorer, err = audit.ScorerByName(f.scorer, opts.Judge); err != nil {
		return 0, err
	}
	// Everything that changes the results defines the run; a rerun with the
	// same flags resumes it.
	seriesNames := make([]string, len(opts.Series))
	for i, s := range opts.Series {
		seriesNames[i] = s.Name()
	}
	// The suite counts by its content, not its name: two files called
	// suite.jsonl, or one edited in place, are different runs.
	suiteHash := sha256.New()
	if err := json.NewEncoder(suiteHash).Encode(ds.Samples); err != nil {
		return 0, err
	}
	identity := map[string]any{"target": tgt.Name(), "model": f.model, "probes": probes, "suite": ds.Name, "n": len(ds.Samples),
		"suite_sha256": hex.EncodeToString(suiteHash.Sum(nil)), "judge_target": judgeTarget,
		"seed": f.seed, "temperature": f.temperature, "max_tokens": f.maxTokens, "scorer": f.scorer, "judge": f.judgeModel,
		"series": seriesNames, "overhang_samples": f.overhangSamples, "overhang_metric": f.overhangMetric,
		"metrics_log": f.metricsLog, "proxy_threshold": f.proxyThreshold}

	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := progress.New(stderr, progress.ModeOf(stderr, f.quiet), "audit", "samples", 0)
	update := func(pr audit.Progress) {
		// Count this run's work only, so the rate and ETA are honest on
		// a resumed run; what came from the store is said beside it.
		var extra []string
		if pr.Skipped > 0 {
			extra = append(extra, fmt.Sprintf("%d resumed", pr.Skipped))
		}
		if pr.Failed > 0 {
			extra = append(extra, fmt.Sprintf("%d failed", pr.Failed))
		}
		bar.Set(pr.Done, pr.Total-pr.Skipped, strings.Join(extra, ", "))
	}
	cfg := audit.Config{Probes: probes, Options: opts, Target: wrap(tgt), Store: st, RunID: f.runID, Identity: identity,
		Concurrency: f.concurrency, Params: target.Params{Temperature: f.temperature, MaxTokens: f.maxTokens},
		MaxErrors: f.maxErrors, Policy: pol, Progress: update}
	sum, err := audit.Run(ctx, cfg)
	bar.Done()
	if err != nil {
		return 0, err
	}
	auditReport(unlessQuiet(stderr, f.quiet), f.db, f.seed, sum) // runs/<run id>/: run.json, audit.json, report.html
	if f.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return 0, err
		}
	} else if err := audit.WriteTable(stdout, sum); err != nil {
		return 0, err
	}
	code := sum.ExitCode()
	if code == 2 && !sum.Interrupted && sum.Tasks.Failed == 0 {
		// Every sample was answered, but a probe could not be scored (no
		// item answered right, say): a rerun would only repeat it.
		return 0, errUnscored
	}
	return code, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
