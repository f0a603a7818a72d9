package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/alignlab/alignlab/internal/progress"
	"github.com/alignlab/alignlab/lab"
	"github.com/spf13/cobra"
)

func newLabCmd() *cobra.Command {
	var (
		quick     bool
		asJSON    bool
		seed      uint64
		seeds     int
		out       string
		organisms []string
		bases     string
		codec     string
	)
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run the embedded lab: train model organisms, audit them, compare DPO with RLHF",
		Long: `lab builds a closed world of questions with verifiable answers, trains a tiny
base model on it, has simulated annotators label the model's own replies, and trains
model organisms that each plant one alignment failure (sycophancy, alignment mirage,
reward hacking, annotator drift, rare-event blindness, optimization overhang) next to a
clean control. It runs every detector on every organism for several seeds (the validity
matrix), compares DPO with RLHF on the clean organism's data (gold reward against KL,
wall time, memory, seed spread), and scores every policy on the trilemma's three axes.

It writes runs/<id>/ (config.json, data/ with each organism's preference data in TRL
format, checkpoints/, metrics/, summary.json). Progress goes to stderr; --json prints the
summary. --quick is the CI-sized run: it starts from base models shipped in the binary
(the full run's base stage with seed 1) and runs one seed. Organisms are YAML files;
--organisms adds yours (a file or a directory) to the embedded ones.

Each stage prints one line on stderr (with its time); --quiet prints none.`,
		Example: `  alignlab lab --quick
  alignlab lab --seed 2 --seeds 3 --json > lab.json
  alignlab lab --quick --organisms my-organisms/ --out /tmp/runs
  alignlab lab --bases runs/lab-20261126-221620-seed1/checkpoints`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := lab.DefaultConfig()
			if quick {
				cfg = lab.QuickConfig()
			}
			cfg.Seed = seed
			if cmd.Flags().Changed("seeds") {
				cfg.Seeds = seeds
			}
			if codec != "" {
				if err := cfg.SetCodec(codec); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			orgs, err := lab.LoadOrganisms(organisms)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			cfg.Organisms = orgs
			stderr := cmd.ErrOrStderr()
			opts := lab.Options{Out: out, Progress: progress.Lines(stderr, progress.ModeOf(stderr, quietFlag(cmd)), "")}
			switch bases {
			case "":
			case lab.BaseTrain, lab.BaseEmbedded:
				cfg.BaseSource = bases
			default:
				opts.Bases = bases
			}
			sum, err := lab.Run(cmd.Context(), cfg, opts)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "lab: ") { // most of lab's errors name it already
					err = fmt.Errorf("lab: %w", err)
				}
				return &exitError{code: 2, err: err}
			}
			if sum.Dir != "" {
				labReport(cmd, sum) // run.json and report.html in the run directory
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(sum)
			}
			return sum.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "the CI-sized lab: embedded base models, smaller data and evaluation sets, one seed")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the whole run")
	cmd.Flags().IntVar(&seeds, "seeds", 3, "organism seeds for the validity matrix (1 with --quick)")
	cmd.Flags().StringVar(&out, "out", "runs", "directory for runs/<id>/ (empty: write nothing)")
	cmd.Flags().StringArrayVar(&organisms, "organisms", nil, "organism YAML file or directory to add (repeatable)")
	cmd.Flags().StringVar(&codec, "codec", "", "tokenization of the bases: word (default) or bpe (package tokenizer, ChatML; trains the bases, about twice as slow)")
	cmd.Flags().StringVar(&bases, "bases", "", "base models: train, embedded (the default with --quick), or a previous run's checkpoints/ directory")
	return cmd
}
