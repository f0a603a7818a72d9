package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// BenchOptions configure Bench.
type BenchOptions struct {
	// Exe is the alignlab binary to start as `alignlab serve`.
	Exe string
	// ModelDir is served; empty builds a random model of llama2.c's
	// stories15M shape (6 layers, width 288, vocab 32000, tied
	// embeddings) with a small trained tokenizer in a temporary directory.
	ModelDir string
	// Phase is how long the 1- and 16-client phases run; Soak how long 64
	// clients run.
	Phase, Soak time.Duration
	MaxTokens   int
	MaxBatch    int
	// ServerCPUs, when set (e.g. "0,1"), pins the server to those CPUs
	// with taskset, to measure a small machine on a large one while the
	// clients run on the other CPUs.
	ServerCPUs string
	// Quick shrinks the model and the phases (a smoke test for CI).
	Quick    bool
	Progress io.Writer
}

// BenchResult is the benchmark's report.
type BenchResult struct {
	Model      string  `json:"model"`
	ServerCPUs string  `json:"server_cpus,omitempty"`
	MaxBatch   int     `json:"max_batch"`
	MaxTokens  int     `json:"max_tokens"`
	Quick      bool    `json:"quick"`
	One        Result  `json:"one_client"`
	Sixteen    Result  `json:"sixteen_clients"`
	Speedup    float64 `json:"speedup_16_vs_1"`
	Soak       Result  `json:"soak_64_clients"`
	// Server memory (the `alignlab serve` process): peak RSS over its
	// life, RSS when the soak began and ended, and the largest RSS seen
	// in the soak's second half against its first half.
	PeakRSSMB           float64 `json:"peak_rss_mb"`
	SoakStartRSSMB      float64 `json:"soak_start_rss_mb"`
	SoakEndRSSMB        float64 `json:"soak_end_rss_mb"`
	SoakFirstHalfMaxMB  float64 `json:"soak_first_half_max_rss_mb"`
	SoakSecondHalfMaxMB float64 `json:"soak_second_half_max_rss_mb"`
	// ShutdownMS is how long the server took to exit after SIGTERM, and
	// ShutdownErr what it reported (empty for a clean exit 0).
	ShutdownMS  float64 `json:"shutdown_ms"`
	ShutdownErr string  `json:"shutdown_error,omitempty"`
}

// Bench starts `alignlab serve` on a loopback port and runs three phases:
// one client, 16 clients (each for Phase) and 64 clients (for Soak),
// sampling the server's memory, then stops it with SIGTERM.
func Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = 64
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 16
	}
	r := BenchResult{MaxBatch: o.MaxBatch, MaxTokens: o.MaxTokens, Quick: o.Quick, ServerCPUs: o.ServerCPUs}
	dir := o.ModelDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "alignlab-bench-serve-")
		if err != nil {
			return r, err
		}
		defer os.RemoveAll(tmp)
		fmt.Fprintln(o.Progress, "building a random stories15M-shaped model...")
		if r.Model, err = writeBenchModel(tmp, o.Quick); err != nil {
			return r, err
		}
		dir = tmp
	} else {
		r.Model = dir
	}
	srv, err := startServer(ctx, o.Exe, dir, o.MaxBatch, o.ServerCPUs)
	if err != nil {
		return r, err
	}
	defer srv.kill()
	base := Options{URL: srv.url, MaxTokens: o.MaxTokens, Prompt: "Tell me a story about a fox and a dog.", Seed: 1}

	phase := func(name string, clients int, d time.Duration) (Result, error) {
		fmt.Fprintf(o.Progress, "%s: %d client(s) for %v...\n", name, clients, d)
		opt := base
		opt.Clients, opt.Duration = clients, d
		cpu0 := srv.cpuSeconds()
		res, err := Run(ctx, opt)
		if cpu := srv.cpuSeconds() - cpu0; cpu > 0 {
			res.ServerCPUSeconds, res.TokensPerCPUSec = cpu, float64(res.CompletionTokens)/cpu
		}
		if err == nil {
			fmt.Fprintf(o.Progress, "  %.0f tok/s, %d requests, %d errors\n", res.TokensPerSec, res.Requests, res.Errors)
		}
		return res, err
	}
	if _, err := phase("warm-up", 1, min(o.Phase, 2*time.Second)); err != nil {
		return r, err
	}
	if r.One, err = phase("one client", 1, o.Phase); err != nil {
		return r, err
	}
	if r.Sixteen, err = phase("16 clients", 16, o.Phase); err != nil {
		return r, err
	}
	if r.One.TokensPerSec > 0 {
		r.Speedup = r.Sixteen.TokensPerSec / r.One.TokensPerSec
	}
	r.SoakStartRSSMB = srv.rssMB("VmRSS")
	samples := srv.sampleRSS(o.Soak)
	if r.Soak, err = phase("soak", 64, o.Soak); err != nil {
		return r, err
	}
	rss := samples()
	for i, v := range rss {
		if i < len(rss)/2 {
			r.SoakFirstHalfMaxMB = max(r.SoakFirstHalfMaxMB, v)
		} else {
			r.SoakSecondHalfMaxMB = max(r.SoakSecondHalfMaxMB, v)
		}
	}
	r.SoakEndRSSMB = srv.rssMB("VmRSS")
	r.PeakRSSMB = srv.rssMB("VmHWM")
	t0 := time.Now()
	if err := srv.stop(30 * time.Second); err != nil {
		r.ShutdownErr = err.Error()
	}
	r.ShutdownMS = float64(time.Since(t0).Microseconds()) / 1000
	return r, nil
}

// writeBenchModel saves a random model and a trained tokenizer to dir and
// names the shape.
func writeBenchModel(dir string, quick bool) (string, error) {
	cfg := model.LlamaConfig(32000, 256, 6, 6, 6, 288, 768)
	name := "stories15M shape (llama, 6 layers, 6 heads, dim 288, hidden 768, vocab 32000, ctx 256), random weights"
	if quick {
		cfg = model.LlamaConfig(2048, 128, 2, 4, 4, 64, 128)
		name = "quick: tiny llama (2 layers, dim 64, vocab 2048), random weights"
	}
	cfg.TieEmbeddings = true
	m, err := model.New(cfg, 1)
	if err != nil {
		return "", err
	}
	if err := m.Save(dir); err != nil {
		return "", err
	}
	tok, err := tokenizer.Train(benchCorpus, tokenizer.TrainConfig{
		VocabSize: 512, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
	})
	if err != nil {
		return "", fmt.Errorf("train the benchmark tokenizer: %w", err)
	}
	if err := tok.Save(dir); err != nil {
		return "", err
	}
	return name, nil
}

var benchCorpus = []string{
	"Once upon a time, there was a little fox who lived in a big forest.",
	"One day, the fox met a lazy dog under a tall tree. They became friends.",
	"The dog said: let us play together! The fox was happy and they ran and ran.",
	"Tell me a story about a fox and a dog. What happened next?",
}

// server is a running `alignlab serve` child process.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *syncWriter // its stderr
	done chan error
}

// startServer starts exe serve on a free loopback port (pinned to cpus
// unless empty) and waits until it answers /health.
func startServer(ctx context.Context, exe, dir string, maxBatch int, cpus string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{logs: &syncWriter{}, done: make(chan error, 1), url: "http://" + addr + "/v1"}
	args := []string{"serve", "--model", dir, "--addr", addr, "--max-batch", strconv.Itoa(maxBatch)}
	s.cmd = exec.Command(exe, args...)
	s.cmd.Env = append(os.Environ(), "ALIGNLAB_API_KEY=") // the bench talks without a key
	if cpus != "" {
		ts, err := exec.LookPath("taskset")
		if err != nil {
			return nil, errors.New("--server-cpus needs taskset (util-linux)")
		}
		// taskset execs the server in place, so the pid (and /proc) is the
		// server's; Go sizes GOMAXPROCS from the affinity mask.
		s.cmd = exec.Command(ts, append([]string{"-c", cpus, exe}, args...)...)
		s.cmd.Env = append(os.Environ(), "ALIGNLAB_API_KEY=")
	}
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", exe, err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("alignlab serve exited before it was ready (%v):\n%s", err, s.tail())
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("alignlab serve did not answer /health within 60 s:\n%s", s.tail())
		}
	}
}

// tail is the end of the server's log, for error messages.
func (s *server) tail() string {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	l := s.logs.buf.String()
	return l[max(0, len(l)-2000):]
}

// rssMB reads a memory field (VmRSS, VmHWM) of the server from /proc.
func (s *server) rssMB(field string) float64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "status"))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			if fs := strings.Fields(rest); len(fs) > 0 {
				kb, _ := strconv.ParseFloat(fs[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// cpuSeconds is the server's user plus system CPU time from
// /proc/PID/stat (0 where that is not available).
func (s *server) cpuSeconds() float64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "stat"))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is the first, utime the 12th and stime the 13th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	fs := strings.Fields(string(b[i+1:]))
	if len(fs) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(fs[11], 64)
	st, _ := strconv.ParseFloat(fs[12], 64)
	return (ut + st) / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on Linux
// for every architecture Go supports.
const clockTicks = 100

// sampleRSS records the server's RSS every 500 ms for about d; the
// returned function stops sampling and returns the samples.
func (s *server) sampleRSS(d time.Duration) func() []float64 {
	var (
		mu  sync.Mutex
		out []float64
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				v := s.rssMB("VmRSS")
				mu.Lock()
				out = append(out, v)
				mu.Unlock()
			}
		}
	}()
	return func() []float64 {
		close(stop)
		<-done
		return out
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(timeout time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-s.done:
		if err != nil {
			return fmt.Errorf("alignlab serve exited with %v:\n%s", err, s.tail())
		}
		return nil
	case <-time.After(timeout):
		s.kill()
		return errors.New("alignlab serve did not exit after SIGTERM")
	}
}

// kill ends the server at once (a no-op once it has exited).
func (s *server) kill() { _ = s.cmd.Process.Kill() }

// syncWriter is a buffer written by the child's stderr copier and read by
// tail.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}
