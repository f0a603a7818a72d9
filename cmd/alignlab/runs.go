package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// runsFlags are the 'runs' subcommands' shared flags.
type runsFlags struct {
	db, dir string
}

// root is the directory holding run directories: --dir, else the store's.
func (f *runsFlags) root() string {
	if f.dir != "" {
		return f.dir
	}
	return filepath.Dir(f.db)
}

func newRunsCmd() *cobra.Command {
	var f runsFlags
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "Run history: list runs, show one, diff two audits or two lab runs",
		Long: `runs reads what earlier commands left behind: audit runs in the SQLite store (--db,
runs/alignlab.db) and run directories with a run.json under the runs directory (--dir, by
default the store's directory): lab, train, data audit, inspect and audit runs.

A run is named by its id, a unique prefix of it, or its directory.`,
		Example: `  alignlab runs ls
  alignlab runs show audit-3f9a0c12d4e5
  alignlab runs diff audit-3f9a0c12d4e5 audit-77b0e1a2c3d4`,
	}
	cmd.PersistentFlags().StringVar(&f.db, "db", "runs/alignlab.db", "SQLite store of audit runs")
	cmd.PersistentFlags().StringVar(&f.dir, "dir", "", "directory holding run directories (default: the --db file's directory)")
	cmd.AddCommand(newRunsLsCmd(&f), newRunsShowCmd(&f), newRunsDiffCmd(&f))
	return cmd
}

func newRunsLsCmd(f *runsFlags) *cobra.Command {
	var (
		asJSON bool
		kind   string
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List every run, newest first: id, kind, created, model or target, status and a headline figure",
		Long: `ls lists audit runs from the store and run directories (lab, train-<method>, data-audit,
inspect-<sub>, audit) newest first. The headline is the audit gate's verdict (with the
flagged probes' estimates and 95% CIs), the lab's validity check, a training run's last
loss, a data audit's row and annotator counts, or an inspect run's summary.`,
		Example: `  alignlab runs ls
  alignlab runs ls --kind audit --limit 5
  alignlab runs ls --json | jq '.[] | select(.status != "done") | .id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return &exitError{code: exitErr, err: fmt.Errorf("--limit %d: want 0 (all) or more", limit)}
			}
			runs, err := runIndex(cmd.Context(), f.db, f.root())
			if err != nil {
				return &exitError{code: exitErr, err: err}
			}
			var shown []*runEntry
			for _, e := range runs {
				if kind == "" || e.Kind == kind || strings.HasPrefix(e.Kind, kind+"-") {
					shown = append(shown, e)
				}
			}
			if limit > 0 && len(shown) > limit {
				shown = shown[:limit]
			}
			if asJSON {
				if shown == nil {
					shown = []*runEntry{}
				}
				return writeJSON(cmd.OutOrStdout(), shown)
			}
			if len(shown) == 0 && len(runs) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "no runs of kind %q among the %d in %s or %s (kinds: audit, lab, train, data-audit, inspect)\n", kind, len(runs), f.db, f.root())
				return nil
			}
			if len(shown) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "no runs in %s or %s; 'alignlab lab --quick' or 'alignlab audit' make one\n", f.db, f.root())
				return nil
			}
			return writeRunTable(cmd.OutOrStdout(), shown)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the runs as a JSON array of {id, kind, created, subject, status, headline, dir, in_store}")
	cmd.Flags().StringVar(&kind, "kind", "", "only runs of this kind: audit, lab, train (or train-dpo, ...), data-audit, inspect (or inspect-mirage, ...)")
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many runs (0: all)")
	return cmd
}

func writeRunTable(w io.Writer, runs []*runEntry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tCREATED\tMODEL/TARGET\tSTATUS\tHEADLINE")
	for _, e := range runs {
		created := "-"
		if !e.Created.IsZero() {
			created = e.Created.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Kind, created, orDash(shorten(e.Subject, 40)), e.Status, shorten(e.Headline, 90))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
