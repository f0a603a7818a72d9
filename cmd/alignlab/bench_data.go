package main

import (
	"encoding/json"
	"fmt"

	"github.com/alignlab/alignlab/prefs"
	"github.com/spf13/cobra"
)

func newBenchDataCmd() *cobra.Command {
	var (
		o      prefs.BenchOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Benchmark the preference data audit against a bare JSON parse of the same file",
		Long: `data generates a synthetic preference data set (default 1,000,000 comparisons, TRL JSONL
with annotators, timestamps and order), then times a bare parse pass (encoding/json decode of
every line, one goroutine) and the full 'data audit' over the same file, best of --repeat runs.
Target: audit <= 2x the bare parse, both cores busy, peak memory <= 2 GB.`,
		Example: `  alignlab bench data
  alignlab bench data --rows 100000 --repeat 1 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Rows < 1 || o.Repeat < 1 || o.Workers < 0 {
				// The library reads 0 as its default (a million rows): a
				// typo would run the full benchmark.
				return &exitError{code: 2, err: fmt.Errorf("--rows %d, --repeat %d, --workers %d: want --rows and --repeat of 1 or more, --workers 0 or more", o.Rows, o.Repeat, o.Workers)}
			}
			o.Log = unlessQuiet(cmd.ErrOrStderr(), quietFlag(cmd))
			r, err := prefs.Benchmark(cmd.Context(), o)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			fmt.Fprintf(w, "rows             %d (%.0f MB)\n", r.Rows, r.FileMB)
			fmt.Fprintf(w, "bare parse       %.2f s (encoding/json, 1 goroutine)\n", r.BareParseSeconds)
			fmt.Fprintf(w, "audit            %.2f s (%.2f CPU-seconds per second on %d cores)\n", r.AuditSeconds, r.AuditCPUPerWall, r.Cores)
			fmt.Fprintf(w, "ratio            %.2fx wall (target <= 2); CPU-seconds %.1f vs %.1f (%.2fx)\n",
				r.Ratio, r.AuditCPU, r.BareParseCPU, r.AuditCPU/r.BareParseCPU)
			fmt.Fprintf(w, "peak RSS         %.0f MB (target <= 2048)\n", r.PeakRSSMB)
			fmt.Fprintf(w, "flag recovery    precision %.3f, recall %.3f\n", r.Precision, r.Recall)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Rows, "rows", 1_000_000, "comparisons to generate")
	fl.IntVar(&o.Repeat, "repeat", 2, "timed runs of each pass (the fastest counts)")
	fl.StringVar(&o.Dir, "dir", "", "directory for the temporary data file (default: the system temp dir)")
	fl.StringVar(&o.Keep, "keep", "", "write the data to this path and keep it")
	fl.IntVar(&o.Workers, "workers", 0, "audit parse workers (0: one per core)")
	fl.Uint64Var(&o.Seed, "seed", 1, "seed")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
