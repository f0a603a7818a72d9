package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/alignlab/alignlab/internal/enginebench"
	"github.com/spf13/cobra"
)

func newBenchEngineCmd() *cobra.Command {
	var quick, asJSON bool
	cmd := &cobra.Command{
		Use:   "engine",
		Short: "Benchmark the transformer engine (train step, sgemm vs FMA peak, generation)",
		Long: `engine measures, in one run on this machine:
  train_step_ms, train_gflops  GPT-2 124M shape (12 layers, 12 heads, width 768, vocab 50257),
                               B=4, T=64, random init, forward + backward + AdamW
  peak_rss_mb                  process peak memory right after the train phase
  fma_peak_gflops              the fp32 FMA peak of this machine, all threads
  sgemm_gflops                 the largest matmul of the step (the LM head, 256x50257x768)
  sgemm_peak_fraction          the two alternate over 8 rounds (a peak window as long as one
                               sgemm call, then the call): the figures above are the best
                               round of each, the fraction the median of each round's ratio
  gen_tok_s_15m, gen_tok_s_110m, gen_batch16_tok_s_15m
                               generation on llama2.c's stories15M and stories110M shapes,
                               sampling as llama2.c does by default (temperature 1, top-p 0.9);
                               medians of gen_rounds runs (7; the 15M single-stream and batch-16
                               runs alternate), each run listed in the *_runs arrays
  gen_batch16_speedup          median over rounds of batch 16 over the single stream just before it
  *_ci                         a confidence interval for a median: {lo, hi, coverage, rounds},
                               two order statistics of the rounds (no normality assumed), the
                               narrowest pair covering the median with at least 95% (8 rounds:
                               their min and max, 99.2%; 7 rounds: 98.4%)

Compare with llm.c's train_gpt2.c and llama2.c's runomp built on the same machine.
--quick shrinks the work so CI can check the benchmark runs; its figures are not the benchmark.`,
		Example: `  alignlab bench engine
  alignlab bench engine --quick --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := enginebench.Run(enginebench.Options{Quick: quick, Progress: unlessQuiet(cmd.ErrOrStderr(), quietFlag(cmd))})
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			printEngineResult(cmd.OutOrStdout(), r)
			return nil
		},
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "shrink the work (a smoke test, not the benchmark)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func printEngineResult(w io.Writer, r enginebench.Result) {
	fmt.Fprintf(w, "kernel %s, %d threads", r.Kernel, r.Threads)
	if r.Quick {
		fmt.Fprint(w, " (quick: not the benchmark)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "train step     %s: %.0f ms/step, %.1f GFLOPS, peak RSS %.0f MB\n", r.TrainShape, r.TrainStepMS, r.TrainGFLOPS, r.PeakRSSMB)
	fmt.Fprintf(w, "sgemm          %s: %.1f GFLOPS = %.0f%% of the %.1f GFLOPS FMA peak%s\n", r.SgemmShape, r.SgemmGFLOPS, 100*r.SgemmPeakFraction, r.FMAPeakGFLOPS, ciText(r.SgemmPeakFractionCI, 100, "%.0f%%"))
	fmt.Fprintf(w, "generation     (median of %d) stories15M %.0f tok/s%s, batch 16 %.0f tok/s (%.1fx%s)", r.GenRounds, r.GenTokS15M, ciText(r.GenTokS15MCI, 1, "%.0f"), r.GenBatch16TokS15M, r.GenBatch16Speedup, ciText(r.GenBatch16SpeedupCI, 1, "%.2f"))
	if r.GenTokS110M > 0 {
		fmt.Fprintf(w, ", stories110M %.1f tok/s%s", r.GenTokS110M, ciText(r.GenTokS110MCI, 1, "%.1f"))
	}
	fmt.Fprintln(w)
}

// ciText formats iv, its bounds multiplied by scale, as " [lo, hi] at
// C% confidence", or nothing when one round gives no interval.
func ciText(iv enginebench.Interval, scale float64, format string) string {
	if iv.Rounds < 2 {
		return ""
	}
	return fmt.Sprintf(" ["+format+", "+format+"] at %.1f%% confidence", iv.Lo*scale, iv.Hi*scale, 100*iv.Coverage)
}
