package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/alignlab/alignlab/serve/loadgen"
)

func newBenchServeCmd() *cobra.Command {
	var (
		o      loadgen.BenchOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Benchmark alignlab serve: batching speed-up and a 64-client soak",
		Long: `serve starts 'alignlab serve' (this binary) on a loopback port and drives it with streaming
chat clients, each request generating --max-tokens tokens (ignore_eos, temperature 1):
  one_client, sixteen_clients   completion tokens/s for 1 and 16 concurrent clients (--phase each);
                                target: 16 clients deliver >= 5x the tokens/s of one
  soak_64_clients               64 clients for --soak: target 0 errors and bounded memory
  peak_rss_mb, soak_*_rss_mb    the server process's peak RSS and its RSS across the soak
  shutdown_ms                   time to a clean exit after SIGTERM
Without --model it serves a random model of llama2.c's stories15M shape (6 layers, width 288,
vocab 32000) with a small trained tokenizer, so the engine, not HTTP, dominates.
--quick shrinks the model and phases (a smoke test, not the benchmark).`,
		Example: `  alignlab bench serve
  alignlab bench serve --quick --json
  alignlab bench serve --model ./SmolLM2-135M-Instruct --server-cpus 0,1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the alignlab binary: %w", err)
			}
			o.Exe, o.Progress = exe, unlessQuiet(cmd.ErrOrStderr(), quietFlag(cmd))
			if o.Quick {
				o.Phase, o.Soak = min(o.Phase, 2*time.Second), min(o.Soak, 3*time.Second)
			}
			r, err := loadgen.Bench(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			printServeBench(cmd.OutOrStdout(), r)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.ModelDir, "model", "", "model directory to serve (default: random stories15M-shaped model)")
	fl.DurationVar(&o.Phase, "phase", 20*time.Second, "duration of the 1- and 16-client phases")
	fl.DurationVar(&o.Soak, "soak", 60*time.Second, "duration of the 64-client soak")
	fl.IntVar(&o.MaxTokens, "max-tokens", 64, "tokens generated per request")
	fl.IntVar(&o.MaxBatch, "max-batch", 16, "the server's --max-batch")
	fl.StringVar(&o.ServerCPUs, "server-cpus", "", "pin the server to these CPUs with taskset (e.g. 0,1: a small machine on a large one)")
	fl.BoolVar(&o.Quick, "quick", false, "shrink the work (a smoke test, not the benchmark)")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func printServeBench(w io.Writer, r loadgen.BenchResult) {
	fmt.Fprintf(w, "model          %s; --max-batch %d, %d tokens per request", r.Model, r.MaxBatch, r.MaxTokens)
	if r.ServerCPUs != "" {
		fmt.Fprintf(w, ", server on CPUs %s", r.ServerCPUs)
	}
	if r.Quick {
		fmt.Fprint(w, " (quick: not the benchmark)")
	}
	fmt.Fprintln(w)
	row := func(name string, x loadgen.Result) {
		fmt.Fprintf(w, "%-14s %6.0f tok/s (%4.0f per server CPU-s)  %5d requests  %d errors  latency p50 %.0f ms p99 %.0f ms, first token p50 %.0f ms\n",
			name, x.TokensPerSec, x.TokensPerCPUSec, x.Requests, x.Errors, x.LatencyP50MS, x.LatencyP99MS, x.FirstTokenP50MS)
		if x.FirstError != "" {
			fmt.Fprintf(w, "%-14s first error: %s\n", "", x.FirstError)
		}
	}
	row("1 client", r.One)
	row("16 clients", r.Sixteen)
	fmt.Fprintf(w, "%-14s %.1fx (target >= 5x)\n", "speed-up", r.Speedup)
	row("64 clients", r.Soak)
	fmt.Fprintf(w, "%-14s peak RSS %.0f MB; soak RSS %.0f -> %.0f MB (max %.0f MB first half, %.0f MB second half)\n",
		"memory", r.PeakRSSMB, r.SoakStartRSSMB, r.SoakEndRSSMB, r.SoakFirstHalfMaxMB, r.SoakSecondHalfMaxMB)
	shut := "clean"
	if r.ShutdownErr != "" {
		shut = r.ShutdownErr
	}
	fmt.Fprintf(w, "%-14s %.0f ms after SIGTERM, %s\n", "shutdown", r.ShutdownMS, shut)
}
