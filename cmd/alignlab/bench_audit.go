package main

// alignlab bench audit: the audit harness's overhead and throughput against
// a planted OpenAI-compatible server running in a separate process (so the
// harness's CPU time is its own), and the same suite through promptfoo when
// it is installed.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/audit/simserver"
	"github.com/alignlab/alignlab/internal/procstat"
	"github.com/alignlab/alignlab/store"
	"github.com/alignlab/alignlab/target"
)

type benchAuditFlags struct {
	n, concurrency, reps int
	seed                 int64
	latency              time.Duration
	promptfoo, serve     string
	cpuprofile           string
	jsonOut              bool
}

func newBenchAuditCmd() *cobra.Command {
	var f benchAuditFlags
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Audit harness overhead (CPU per sample) and throughput, against promptfoo",
		Long: `bench audit runs an arithmetic suite through the audit harness against a planted
OpenAI-compatible server in a separate process, and reports wall time, samples per second
and the harness's CPU time per sample (getrusage of this process; the server's CPU is not
counted). With --promptfoo DIR (a directory where promptfoo is installed with npm) it runs
the same suite, server and concurrency through promptfoo and reports the ratio.`,
		Example: `  alignlab bench audit --n 500 --reps 1
  alignlab bench audit --promptfoo ~/promptfoo --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.serve != "" {
				return serveSim(f, cmd.OutOrStdout())
			}
			if f.reps < 1 || f.concurrency < 1 {
				return &exitError{code: 2, err: fmt.Errorf("--reps %d, --concurrency %d: want 1 or more", f.reps, f.concurrency)}
			}
			return benchAudit(cmd.Context(), f, cmd.OutOrStdout(), unlessQuiet(cmd.ErrOrStderr(), quietFlag(cmd)))
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.n, "n", 2000, "samples in the suite")
	fl.IntVar(&f.concurrency, "concurrency", 64, "requests in flight (both harnesses)")
	fl.IntVar(&f.reps, "reps", 3, "repetitions of the alignlab run (the median is reported)")
	fl.Int64Var(&f.seed, "seed", 1, "suite seed")
	fl.DurationVar(&f.latency, "latency", 2*time.Millisecond, "server latency per request")
	fl.StringVar(&f.promptfoo, "promptfoo", "", "directory with promptfoo installed (node_modules/.bin/promptfoo)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the figures as JSON")
	fl.StringVar(&f.serve, "serve", "", "internal: serve the planted server on this address")
	fl.MarkHidden("serve")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the alignlab runs to this file")
	return cmd
}

func benchSuite(f benchAuditFlags) (audit.Dataset, error) {
	return audit.Bank(f.n, f.seed, []string{audit.DomainArithmetic})
}

// serveSim is the server process: it prints its URL and serves until
// stdin closes.
func serveSim(f benchAuditFlags, stdout io.Writer) error {
	ds, err := benchSuite(f)
	if err != nil {
		return err
	}
	sim := simserver.New(simserver.Behavior{Latency: f.latency, Seed: uint64(f.seed)}, nil)
	for _, s := range ds.Samples {
		sim.Learn(s)
	}
	ln, err := net.Listen("tcp", f.serve)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening http://%s\n", ln.Addr())
	srv := &http.Server{Handler: sim.Handler()}
	go func() { io.Copy(io.Discard, os.Stdin); srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type benchRun struct {
	Harness         string  `json:"harness"`
	Samples         int     `json:"samples"`
	Correct         int     `json:"correct"`
	WallS           float64 `json:"wall_s"`
	SamplesPerS     float64 `json:"samples_per_s"`
	CPUMsPerSample  float64 `json:"cpu_ms_per_sample"`
	Concurrency     int     `json:"concurrency"`
	ServerLatencyMs float64 `json:"server_latency_ms"`
}

func benchAudit(ctx context.Context, f benchAuditFlags, stdout, stderr io.Writer) error {
	ds, err := benchSuite(f)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srvCmd := exec.Command(self, "bench", "audit", "--serve", "127.0.0.1:0", "--n", fmt.Sprint(f.n),
		"--seed", fmt.Sprint(f.seed), "--latency", f.latency.String())
	stdin, _ := srvCmd.StdinPipe()
	out, _ := srvCmd.StdoutPipe()
	srvCmd.Stderr = stderr
	if err := srvCmd.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	defer func() { stdin.Close(); srvCmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("server did not start: %w", err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "listening "))

	if f.cpuprofile != "" {
		pf, err := os.Create(f.cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	var runs []benchRun
	for r := range f.reps {
		br, err := benchAlignlab(ctx, f, ds, url)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "alignlab rep %d: %.2f s, %.0f samples/s, %.3f ms CPU/sample\n", r+1, br.WallS, br.SamplesPerS, br.CPUMsPerSample)
		runs = append(runs, br)
	}
	pprof.StopCPUProfile()
	sort.Slice(runs, func(i, j int) bool { return runs[i].WallS < runs[j].WallS })
	res := map[string]any{"alignlab": runs[len(runs)/2]}
	if f.promptfoo != "" {
		pf, err := benchPromptfoo(ctx, f, ds, url, stderr)
		if err != nil {
			return fmt.Errorf("promptfoo: %w", err)
		}
		res["promptfoo"] = pf
		res["throughput_ratio"] = runs[len(runs)/2].SamplesPerS / pf.SamplesPerS
	}
	if f.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	for _, k := range []string{"alignlab", "promptfoo"} {
		if v, ok := res[k].(benchRun); ok {
			fmt.Fprintf(stdout, "%-10s %d samples (%d correct) at concurrency %d: %.2f s wall, %.0f samples/s, %.3f ms CPU/sample\n",
				k, v.Samples, v.Correct, v.Concurrency, v.WallS, v.SamplesPerS, v.CPUMsPerSample)
		}
	}
	if r, ok := res["throughput_ratio"]; ok {
		fmt.Fprintf(stdout, "throughput alignlab/promptfoo: %.1fx\n", r)
	}
	return nil
}

// benchAlignlab runs the suite through the runner as an audit would: a
// fresh store, every sample committed, responses cached.
func benchAlignlab(ctx context.Context, f benchAuditFlags, ds audit.Dataset, url string) (benchRun, error) {
	dir, err := os.MkdirTemp("", "alignlab-bench-audit")
	if err != nil {
		return benchRun{}, err
	}
	defer os.RemoveAll(dir)
	cpu0, t0 := procstat.CPUTime(), time.Now()
	st, err := store.Open(filepath.Join(dir, "bench.db"))
	if err != nil {
		return benchRun{}, err
	}
	defer st.Close()
	h, err := target.NewHTTP(target.HTTPConfig{BaseURL: url + "/v1", Model: "sim", Concurrency: f.concurrency})
	if err != nil {
		return benchRun{}, err
	}
	tgt := target.Cached(h, st)
	sc, _ := audit.ScorerByName("auto", nil)
	tasks := make([]audit.Task, len(ds.Samples))
	for i, s := range ds.Samples {
		tasks[i] = audit.Task{ID: "bench/" + s.ID, Probe: "bench", Sample: s, Solver: audit.Generate(), Scorer: sc}
	}
	if _, err := st.StartRun(ctx, store.Run{ID: "bench", Config: "{}"}); err != nil {
		return benchRun{}, err
	}
	r := &audit.Runner{Store: st, RunID: "bench", Target: tgt, Params: target.Params{MaxTokens: 256}, Concurrency: f.concurrency}
	stats, err := r.Run(ctx, tasks)
	if err != nil {
		return benchRun{}, err
	}
	res, err := audit.LoadResults(ctx, st, "bench")
	if err != nil {
		return benchRun{}, err
	}
	wall, cpu := time.Since(t0), procstat.CPUTime()-cpu0
	correct := 0
	for _, x := range res {
		if x.Correct(0) {
			correct++
		}
	}
	return benchRun{Harness: "alignlab", Samples: stats.Done, Correct: correct, WallS: wall.Seconds(),
		SamplesPerS: float64(stats.Done) / wall.Seconds(), CPUMsPerSample: float64(cpu.Microseconds()) / 1000 / float64(stats.Done),
		Concurrency: f.concurrency, ServerLatencyMs: float64(f.latency.Microseconds()) / 1000}, nil
}

// benchPromptfoo runs the same suite through promptfoo eval and measures
// its process tree's wall and CPU time.
func benchPromptfoo(ctx context.Context, f benchAuditFlags, ds audit.Dataset, url string, stderr io.Writer) (benchRun, error) {
	bin := filepath.Join(f.promptfoo, "node_modules", ".bin", "promptfoo")
	if _, err := os.Stat(bin); err != nil {
		return benchRun{}, fmt.Errorf("no promptfoo at %s: %w", bin, err)
	}
	dir, err := os.MkdirTemp("", "alignlab-bench-promptfoo")
	if err != nil {
		return benchRun{}, err
	}
	defer os.RemoveAll(dir)
	var b strings.Builder
	fmt.Fprintf(&b, "description: alignlab bench\nprompts:\n  - '{{question}}'\nproviders:\n  - id: openai:chat:sim\n    config:\n      apiBaseUrl: %s/v1\n      apiKey: sk-bench\n      temperature: 0\n      max_tokens: 256\ntests:\n", url)
	for _, s := range ds.Samples {
		q, _ := json.Marshal(s.Question())
		a, _ := json.Marshal(s.Target)
		fmt.Fprintf(&b, "  - vars: {question: %s}\n    assert: [{type: contains, value: %s}]\n", q, a)
	}
	cfg := filepath.Join(dir, "promptfooconfig.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		return benchRun{}, err
	}
	outJSON := filepath.Join(dir, "out.json")
	cmd := exec.CommandContext(ctx, bin, "eval", "-c", cfg, "--no-cache", "-j", fmt.Sprint(f.concurrency),
		"--no-progress-bar", "--no-table", "-o", outJSON)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PROMPTFOO_DISABLE_TELEMETRY=1", "PROMPTFOO_DISABLE_UPDATE=1",
		"PROMPTFOO_CONFIG_DIR="+filepath.Join(dir, "config"), "OPENAI_API_KEY=sk-bench")
	var logBuf strings.Builder
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	t0 := time.Now()
	runErr := cmd.Run()
	wall := time.Since(t0)
	var report struct {
		Results struct {
			Stats struct{ Successes, Failures, Errors int } `json:"stats"`
		} `json:"results"`
	}
	data, err := os.ReadFile(outJSON)
	if err != nil || json.Unmarshal(data, &report) != nil {
		return benchRun{}, fmt.Errorf("no usable output (%v); promptfoo said: %s", runErr, clipTail(logBuf.String(), 800))
	}
	st := report.Results.Stats
	n := st.Successes + st.Failures + st.Errors
	if n == 0 {
		return benchRun{}, fmt.Errorf("promptfoo ran no tests: %s", clipTail(logBuf.String(), 800))
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	fmt.Fprintf(stderr, "promptfoo: %.2f s, %d passed, %d failed, %d errors\n", wall.Seconds(), st.Successes, st.Failures, st.Errors)
	return benchRun{Harness: "promptfoo 0.115.0", Samples: n, Correct: st.Successes, WallS: wall.Seconds(),
		SamplesPerS: float64(n) / wall.Seconds(), CPUMsPerSample: float64(cpu.Microseconds()) / 1000 / float64(n),
		Concurrency: f.concurrency, ServerLatencyMs: float64(f.latency.Microseconds()) / 1000}, nil
}

func clipTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
