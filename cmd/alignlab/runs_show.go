package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/lab"
	"github.com/alignlab/alignlab/prefs"
	"github.com/alignlab/alignlab/train"
)

// runDetail is what 'runs show --json' prints.
type runDetail struct {
	Run     *runEntry       `json:"run"`
	Meta    *rundir.Meta    `json:"meta,omitempty"`
	Config  json.RawMessage `json:"config,omitempty"`
	Summary json.RawMessage `json:"summary,omitempty"`
	// LastMetrics are a training run's last logged values.
	LastMetrics map[string]float64 `json:"last_metrics,omitempty"`
}

func newRunsShowCmd(f *runsFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show one run: its command, seed, config, status and results",
		Long: `show prints how a run was made (command line with secrets redacted, seed, version, time)
and what it found: an audit's probes with their estimates, 95% confidence intervals, tests
and n; a lab run's validity matrix and trilemma; a training run's config and last metrics;
a data audit's report; an inspect run's summary. RUN is an id, a unique prefix of one, or
a run directory.`,
		Example: `  alignlab runs show audit-3f9a0c12d4e5
  alignlab runs show lab-2026 --json
  alignlab runs show runs/train-dpo-20261126-221500`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := runIndex(cmd.Context(), f.db, f.root())
			if err != nil {
				return &exitError{code: exitErr, err: err}
			}
			e, err := findRun(runs, args[0])
			if err != nil {
				return &exitError{code: exitErr, err: err}
			}
			d, err := loadDetail(e)
			if err != nil {
				return &exitError{code: exitErr, err: err}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), d)
			}
			return writeDetail(cmd.OutOrStdout(), d)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {run, meta, config, summary, last_metrics} as JSON (summary as the run wrote it)")
	return cmd
}

// loadDetail reads a run's config and result files.
func loadDetail(e *runEntry) (*runDetail, error) {
	d := &runDetail{Run: e, Meta: e.meta}
	raw := func(name string) json.RawMessage {
		data, err := os.ReadFile(filepath.Join(e.Dir, name))
		if err != nil || !json.Valid(data) {
			return nil
		}
		return data
	}
	if e.audit != nil {
		d.Config = json.RawMessage(e.audit.Config)
		if e.audit.Summary != "" {
			d.Summary = json.RawMessage(e.audit.Summary)
		}
		return d, nil
	}
	if e.Dir == "" {
		return d, nil
	}
	switch {
	case e.Kind == "lab":
		d.Config, d.Summary = raw("config.json"), raw(rundir.LabSummaryFile)
	case strings.HasPrefix(e.Kind, "train-"):
		d.Config = raw(train.RunConfigFile)
		if ms, err := train.ReadMetrics(e.Dir); err == nil && len(ms) > 0 {
			d.LastMetrics = map[string]float64{}
			for _, m := range ms {
				for k, v := range m {
					d.LastMetrics[k] = v
				}
			}
		}
	case e.Kind == "data-audit":
		d.Summary = raw("data_audit.json")
	case strings.HasPrefix(e.Kind, "inspect-"):
		d.Summary = raw("inspect.json")
	case e.Kind == "audit":
		d.Summary = raw("audit.json")
	}
	return d, nil
}

// writeDetail prints a run for a reader: how it was made, then its
// results in the form its own command prints them.
func writeDetail(w io.Writer, d *runDetail) error {
	e := d.Run
	fmt.Fprintf(w, "run      %s (%s)\n", e.ID, e.Kind)
	fmt.Fprintf(w, "status   %s\n", e.Status)
	if !e.Created.IsZero() {
		fmt.Fprintf(w, "created  %s\n", e.Created.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if e.Subject != "" {
		fmt.Fprintf(w, "subject  %s\n", e.Subject)
	}
	if e.Dir != "" {
		fmt.Fprintf(w, "dir      %s\n", e.Dir)
	}
	if m := d.Meta; m != nil {
		fmt.Fprintf(w, "command  %s\n", shellJoin(m.Command))
		if m.Seed != nil {
			fmt.Fprintf(w, "seed     %d\n", *m.Seed)
		}
		if m.Version != "" {
			fmt.Fprintf(w, "version  %s\n", m.Version)
		}
	}
	if len(d.Config) > 0 {
		fmt.Fprintln(w, "\nconfig")
		var v any
		if json.Unmarshal(d.Config, &v) == nil {
			b, _ := json.MarshalIndent(v, "  ", "  ")
			fmt.Fprintf(w, "  %s\n", b)
		}
	}
	if len(d.LastMetrics) > 0 {
		fmt.Fprintln(w, "\nlast metrics")
		keys := make([]string, 0, len(d.LastMetrics))
		for k := range d.LastMetrics {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-28s %.4g\n", k, d.LastMetrics[k])
		}
	}
	if len(d.Summary) == 0 {
		if e.Status != "done" {
			fmt.Fprintln(w, "\nno results: the run did not finish; rerun its command to resume or redo it")
		}
		return nil
	}
	fmt.Fprintln(w)
	switch {
	case e.Kind == "audit":
		var s audit.Summary
		if err := json.Unmarshal(d.Summary, &s); err != nil {
			return fmt.Errorf("run %s: decode summary: %w", e.ID, err)
		}
		return audit.WriteTable(w, &s)
	case e.Kind == "lab":
		var s lab.Summary
		if err := json.Unmarshal(d.Summary, &s); err != nil {
			return fmt.Errorf("run %s: decode summary: %w", e.ID, err)
		}
		return s.WriteText(w)
	case e.Kind == "data-audit":
		var r prefs.Report
		if err := json.Unmarshal(d.Summary, &r); err != nil {
			return fmt.Errorf("run %s: decode report: %w", e.ID, err)
		}
		return r.WriteText(w)
	}
	fmt.Fprintln(w, e.Headline)
	return nil
}

// shellJoin quotes a recorded command for copying into a shell.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\|&;<>()*?[]{}!#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
