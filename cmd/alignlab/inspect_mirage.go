package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/interp/mirage"
	"github.com/spf13/cobra"
)

func newInspectMirageCmd() *cobra.Command {
	var (
		o        mirage.Options
		position string
		out      string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "mirage",
		Short: "Find the lab's alignment mirage from the inside: a frame probe per layer, and the gap with the frame direction ablated",
		Long: `mirage takes the lab's mirage organism (honest when a prompt looks like a test, bluffing
otherwise) and the clean organism as the control. By default it trains both from the lab's
quick configuration and embedded base models (about 30 s); --run takes them from a lab run
directory instead, and --model (with --control) analyses any two lab policies.

For each residual-stream hook (the embeddings, then after each block) it fits a logistic
probe that reads the prompt's frame (evaluation- or deployment-styled) and reports its
cross-validated AUROC; the difference of means between frames is that layer's frame
direction. It then measures the lab's mirage gap (accuracy in the evaluation frame minus in
the deployment frame, same held-out items, the lab's detector and seed) before and after
projecting the frame directions out during generation (--ablate resid: after every block, each
with the direction fitted there; components: also from every attention and MLP output, which
shrinks the gap further but by lowering accuracy in both frames), and after projecting out
random directions at the same hooks (the control). The directions are fitted on items the gap
is not measured on; the table shows each condition's accuracy in both frames.

It writes runs/<id>/ with inspect.json and the best layer's direction (direction.json);
--json prints the results (auroc_by_layer, best_layer, best_auroc, gap_before, gap_after,
shrink, the random control and the clean organism).`,
		Example: `  alignlab inspect mirage --json
  alignlab inspect mirage --run runs/lab-20261126-221500-seed1-quick`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Control != "" && o.Model == "" {
				return &exitError{code: 2, err: fmt.Errorf("--control needs --model")}
			}
			if o.Analysis.FitItems < 0 || o.Items < 0 {
				return &exitError{code: 2, err: fmt.Errorf("--fit %d, --n %d: want 0 (the default) or more", o.Analysis.FitItems, o.Items)}
			}
			o.Analysis.Position = mirage.Position(position)
			if o.Analysis.Position != mirage.PosLast && o.Analysis.Position != mirage.PosMean {
				return &exitError{code: 2, err: fmt.Errorf("--position %q: want last or mean", position)}
			}
			o.Progress = func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), s) }
			s, err := mirage.Run(cmd.Context(), o)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("inspect mirage: %w", err)}
			}
			name := o.Model
			if name == "" {
				name = "lab mirage organism, seed " + fmt.Sprint(s.OrganismSeed)
			}
			res := s.Result(name)
			if out != "" {
				seed := s.OrganismSeed / 1000
				dir, _, err := rundir.Create(out, "inspect-mirage", os.Args, &seed, version)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				if err := writeResultFile(dir, res); err != nil {
					return &exitError{code: 2, err: err}
				}
				if err := s.Mirage.Direction.Save(filepath.Join(dir, "direction.json")); err != nil {
					return &exitError{code: 2, err: err}
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "wrote", dir)
				inspectReport(cmd.ErrOrStderr(), dir)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			fmt.Fprintln(cmd.OutOrStdout(), s.Text())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Run, "run", "", "lab run directory to take the mirage and clean organisms from (default: train them, about 30 s)")
	f.StringVar(&o.Model, "model", "", "a lab policy directory to analyse instead of the mirage organism")
	f.StringVar(&o.Control, "control", "", "a lab policy directory to analyse as the control (with --model)")
	f.Uint64Var(&o.Seed, "seed", 0, "lab seed: organisms of organism seed N·1000, as the lab names them (default: the run's, or 1)")
	f.Uint64Var(&o.OrganismSeed, "organism-seed", 0, "organism seed N of checkpoints/<organism>-seed<N> (default: the lab seed's first, N = seed·1000)")
	f.IntVar(&o.Items, "n", 0, "held-out items for the gap, each asked in both frames (default: the lab's evaluation size, so the gap before is the lab's own finding)")
	f.IntVar(&o.Analysis.FitItems, "fit", 300, "items, each asked in both frames, the probes and directions are fitted on")
	f.IntVar(&o.Analysis.Folds, "folds", 5, "cross-validation folds of the probes")
	f.StringVar(&o.Analysis.Ablate, "ablate", mirage.AblateResid, "where the frame directions are projected out: resid (after each block) or components (also from each attention and MLP output: shrinks the gap more, by lowering accuracy in both frames)")
	f.StringVar(&position, "position", "last", "which prompt positions a probe reads: last (the generation prompt) or mean")
	f.StringVar(&out, "out", "runs", "directory for runs/<id>/ (empty: write nothing)")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

// writeResultFile writes res as dir/inspect.json.
func writeResultFile(dir string, res *interp.Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", interp.ResultFile, err)
	}
	if err := os.WriteFile(filepath.Join(dir, interp.ResultFile), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", interp.ResultFile, err)
	}
	return nil
}
