package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/alignlab/alignlab/internal/progress"
	"github.com/alignlab/alignlab/prefs"
	"github.com/spf13/cobra"
)

func newDataAuditCmd() *cobra.Command {
	var (
		o          prefs.Options
		format     string
		asJSON     bool
		exportPath string
		outDir     string
	)
	cmd := &cobra.Command{
		Use:   "audit FILE...",
		Short: "Audit preference data: validity, duplicates, biases, annotator quality, drift",
		Long: `audit reads preference data (TRL, Anthropic HH-RLHF, OpenAI summarize_from_feedback,
Chatbot Arena, UltraFeedback binarized, Stanford SHP; JSONL, gzip or Parquet, detected per file)
and reports malformed rows (file and line), duplicates, contradictions, intransitive cycles,
position/length/stated-belief biases with confidence intervals, inter-annotator agreement
(Krippendorff's alpha, Fleiss' kappa), per-annotator quality (leave-one-out consensus,
Noisy Bradley-Terry skill and position bias) and drift over time (CUSUM change points with a
permutation test). Annotators are flagged sycophantic, length_biased, position_biased,
drifting or spammer.

--export-clean OUT.jsonl writes the rows that pass (TRL format) and OUT.manifest.json listing
every dropped row and why. Exit status: 0 when the audit ran, 2 on errors (including
--max-errors reached, after printing what was found).`,
		Example: `  alignlab data audit prefs.jsonl
  alignlab data audit --json train-*.parquet > audit.json
  alignlab data audit --annotator-field labeler --time-field created --order-field shown_first data.jsonl.gz
  alignlab data audit --export-clean clean.jsonl prefs.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			f, err := prefs.ParseFormat(format)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := checkDataAuditOptions(o); err != nil {
				return &exitError{code: 2, err: err}
			}
			// Refused before the audit reads anything: the export would
			// replace an input only after the whole audit had run.
			if exportPath != "" {
				if err := prefs.CheckExportPath("--export-clean", exportPath, files); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			o.Format = f
			quiet := quietFlag(cmd)
			bar := progress.New(cmd.ErrOrStderr(), progress.ModeOf(cmd.ErrOrStderr(), quiet), "audit", "rows", 0)
			o.Progress = func(s string) {
				if strings.HasSuffix(s, " lines") { // the reader's periodic count: a terminal's live line only
					bar.Status("audit: " + s)
					return
				}
				bar.Notef("audit: %s", s)
			}
			au, runErr := prefs.Run(cmd.Context(), files, o)
			bar.Done()
			if au == nil {
				return &exitError{code: 2, err: runErr}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(au.Report); err != nil {
					return &exitError{code: 2, err: err}
				}
			} else if err := au.Report.WriteText(out); err != nil {
				return &exitError{code: 2, err: err}
			}
			if outDir != "" && runErr == nil { // runs/data-audit-<time>/: run.json, data_audit.json, report.html
				if err := dataAuditReport(unlessQuiet(cmd.ErrOrStderr(), quiet), outDir, o.Seed, au.Report); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if runErr != nil {
				if errors.Is(runErr, prefs.ErrTooManyErrors) {
					runErr = fmt.Errorf("%w; fix the rows listed above or raise --max-errors", runErr)
				}
				return &exitError{code: 2, err: runErr}
			}
			if exportPath != "" {
				m, err := au.ExportClean(cmd.Context(), exportPath)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "audit: wrote %d of %d rows to %s; dropped rows listed in %s\n",
					m.RowsWritten, m.RowsRead+m.Invalid, exportPath, prefs.ManifestPath(exportPath))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "auto", "input format: auto, trl, hh-rlhf, summarize, arena, ultrafeedback, shp")
	fl.BoolVar(&asJSON, "json", false, "print the report as JSON (schema: go doc github.com/alignlab/alignlab/prefs)")
	fl.StringVar(&exportPath, "export-clean", "", "write the rows that pass to this TRL JSONL file, plus a .manifest.json of what was dropped")
	fl.IntVar(&o.MaxErrors, "max-errors", 0, "stop after this many invalid rows (0: never stop)")
	fl.IntVar(&o.MaxLineBytes, "max-line-bytes", prefs.DefaultMaxLineBytes, "longest JSONL line accepted; longer lines are reported and skipped")
	fl.StringVar(&o.Fields.Prompt, "prompt-field", "", "column holding the prompt (default: the format's own)")
	fl.StringVar(&o.Fields.Chosen, "chosen-field", "", "column holding the chosen response (TRL-style formats)")
	fl.StringVar(&o.Fields.Rejected, "rejected-field", "", "column holding the rejected response (TRL-style formats)")
	fl.StringVar(&o.Fields.Annotator, "annotator-field", "", "column holding the annotator id (default: annotator, worker, judge, labeler, rater, ...)")
	fl.StringVar(&o.Fields.Time, "time-field", "", "column holding the annotation time: Unix seconds/ms, RFC 3339, or a batch name like batch12 (default: timestamp, tstamp, created_at, batch, ...)")
	fl.StringVar(&o.Fields.Order, "order-field", "", "column saying which response was shown first: chosen/rejected, a/b, 0/1 (default: order, shown_first, chosen_position, ...)")
	fl.Float64Var(&o.Alpha, "alpha", 0.05, "family-wise error rate of each flag test (Holm-adjusted across annotators)")
	fl.Float64Var(&o.MinEffect, "min-effect", 0.1, "smallest bias (|rate - 0.5|) that flags an annotator")
	fl.Float64Var(&o.SpammerBelow, "spammer-below", 0.6, "flag spammer when the 95% upper bound of agreement with consensus is below this")
	fl.Float64Var(&o.MinDrift, "min-drift", 0.1, "smallest change in agreement that flags drift")
	fl.IntVar(&o.MinRows, "min-rows", 20, "fewest rows behind a test for it to flag")
	fl.IntVar(&o.Windows, "windows", 10, "time windows for Krippendorff's alpha over time")
	fl.IntVar(&o.Permutations, "permutations", 0, "most permutations per drift test (0: enough for the Holm threshold)")
	fl.IntVar(&o.Workers, "workers", 0, "parse workers (0: one per core)")
	fl.Uint64Var(&o.Seed, "seed", 0, "seed for the permutation tests")
	fl.StringVar(&outDir, "out", "runs", "directory for runs/<id>/ with the report JSON and report.html (empty: write nothing)")
	return cmd
}

// checkDataAuditOptions rejects flag values no audit can use (NaN, or out
// of range) before any file is read.
func checkDataAuditOptions(o prefs.Options) error {
	if !(o.Alpha > 0 && o.Alpha < 1) {
		return fmt.Errorf("--alpha %v: want a number in (0, 1)", o.Alpha)
	}
	for _, f := range []struct {
		name   string
		v, max float64
	}{{"--min-effect", o.MinEffect, 0.5}, {"--spammer-below", o.SpammerBelow, 1}, {"--min-drift", o.MinDrift, 1}} {
		if !(f.v >= 0 && f.v <= f.max) {
			return fmt.Errorf("%s %v: want a number in [0, %g]", f.name, f.v, f.max)
		}
	}
	return checkNonNegative(intFlag{"--max-errors", o.MaxErrors}, intFlag{"--max-line-bytes", o.MaxLineBytes},
		intFlag{"--min-rows", o.MinRows}, intFlag{"--windows", o.Windows}, intFlag{"--permutations", o.Permutations},
		intFlag{"--workers", o.Workers})
}
