package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/internal/outpath"
	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/lab"
	"github.com/alignlab/alignlab/prefs"
	"github.com/alignlab/alignlab/report"
)

func newReportCmd() *cobra.Command {
	var (
		out, db string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "report RUN",
		Short: "Render (or re-render) a run's self-contained HTML report",
		Long: `report draws a run as one HTML file with inline SVG charts and no network requests:
training curves, the gold-vs-KL frontier, the trilemma triangle, the validity matrix and
scorecard of a lab run; the probe scorecard of an audit; drift timelines and annotator
scatter plots of a data audit; heatmaps, tables and curves of an inspect run; and the
command and seed that made the run.

RUN is a run directory (runs/lab-20261126-221620-seed1-quick), a run id under the
directory holding --db (runs/ by default), or an audit's run id in the --db store
(audit-3f9a..., as 'alignlab audit' prints it), whose directory is then recreated from the
store. lab, audit, data audit and inspect write report.html into their run directory on
their own; this command redraws it, or writes it elsewhere with --out.`,
		Example: `  alignlab report runs/lab-20261126-221620-seed1-quick
  alignlab report lab-20261126-221620-seed1-quick --out /tmp/lab.html
  alignlab report audit-3f9a0c12d4e5 --db runs/alignlab.db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			dir, err := resolveRun(cmd, args[0], db)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			// --out over one of the run's files would replace what the
			// report is drawn from; RUN/report.html is the report itself.
			if out != "" && !outpath.Same(out, filepath.Join(dir, report.FileName)) {
				if err := outpath.File("--out", out, outpath.Input{Path: dir, What: "a file of run " + dir, Tree: true}); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			path, err := report.WriteRun(dir, report.Options{Out: out})
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			st, err := os.Stat(path)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"run_dir": dir, "report": path, "bytes": st.Size(), "seconds": time.Since(start).Seconds()})
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: RUN/report.html)")
	cmd.Flags().StringVar(&db, "db", "runs/alignlab.db", "SQLite store holding audit runs; run ids are also looked up in its directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"run_dir", "report", "bytes", "seconds"} as JSON instead of the path`)
	return cmd
}

// resolveRun finds the run directory RUN names: a directory, an id under
// the store's directory, or an audit run id in the store.
func resolveRun(cmd *cobra.Command, run, db string) (string, error) {
	if st, err := os.Stat(run); err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("%s is a file; RUN is a run directory or a run id", run)
		}
		return run, nil
	}
	if filepath.Base(run) == run {
		if dir := filepath.Join(filepath.Dir(db), run); isDir(dir) {
			return dir, nil
		}
	}
	dir, err := report.AuditFromStore(cmd.Context(), db, filepath.Base(run))
	if err != nil {
		return "", errors.Join(fmt.Errorf("run %q: not a directory", run), err)
	}
	return dir, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// The automatic reports of lab, audit and data audit: each command calls
// one of these after writing its results. A report that fails to render
// is a warning, not a failed run: the results are already on disk and
// `alignlab report` can redraw them.

// labReport writes a lab run's run.json (the command and seed that made
// it) and its report, and prints the report's path on stderr unless the
// command has --quiet set.
func labReport(cmd *cobra.Command, sum *lab.Summary) {
	seed := sum.Seed
	created := time.Now().UTC().Add(-time.Duration(sum.Seconds * float64(time.Second)))
	meta := rundir.Meta{ID: sum.ID, Kind: "lab", Command: os.Args, Seed: &seed, Created: created, Version: version}
	if err := rundir.WriteMeta(sum.Dir, meta); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", err)
	}
	quiet := false
	if f := cmd.Flags().Lookup("quiet"); f != nil {
		quiet = f.Value.String() == "true"
	}
	printReport(unlessQuiet(cmd.ErrOrStderr(), quiet), "lab", func() (string, error) { return report.WriteRun(sum.Dir, report.Options{}) })
}

// auditReport writes the audit's run directory beside its database
// (runs/<run id>/ for runs/alignlab.db) and its report.
func auditReport(w io.Writer, db string, seed int64, sum *audit.Summary) {
	meta := rundir.Meta{Kind: "audit", Command: os.Args, Created: time.Now().UTC(), Version: version}
	if seed >= 0 {
		s := uint64(seed)
		meta.Seed = &s
	}
	printReport(w, "audit", func() (string, error) { return report.SaveAudit(report.AuditDir(db, sum.RunID), meta, sum) })
}

// dataAuditReport writes a data audit's run directory under root
// (runs/data-audit-<time>/) and its report. Unlike the other reports, its
// results live only in that directory: when data_audit.json could not be
// written (no run directory, say), nothing is saved, and the error is
// returned for the command to fail with, not printed as a warning.
func dataAuditReport(w io.Writer, root string, seed uint64, rep *prefs.Report) error {
	dir, path, err := report.SaveDataAudit(root, os.Args, seed, version, rep)
	if err != nil && (dir == "" || !isFile(filepath.Join(dir, report.DataAuditFile))) {
		return fmt.Errorf("data audit not saved under --out %s: %w", root, err)
	}
	printReport(w, "audit", func() (string, error) { return path, err })
	return nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// inspectReport writes an inspect run's report (after its inspect.json)
// and prints "inspect: report PATH" on w: the one call each inspect
// subcommand makes, e.g. inspectReport(unlessQuiet(cmd.ErrOrStderr(), quiet), dir).
func inspectReport(w io.Writer, dir string) {
	printReport(w, "inspect", func() (string, error) { return report.WriteRun(dir, report.Options{}) })
}

// unlessQuiet returns w, or a writer that drops everything when quiet.
func unlessQuiet(w io.Writer, quiet bool) io.Writer {
	if quiet {
		return io.Discard
	}
	return w
}

func printReport(w io.Writer, prefix string, write func() (string, error)) {
	path, err := write()
	if err != nil {
		fmt.Fprintf(w, "%s: warning: report not written: %v (the results are saved; rerun `alignlab report` on the run)\n", prefix, err)
		return
	}
	fmt.Fprintf(w, "%s: report %s\n", prefix, path)
}
