package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/alignlab/alignlab/prefs"
	"github.com/spf13/cobra"
)

func newDataSynthCmd() *cobra.Command {
	var (
		cfg    prefs.SynthConfig
		kinds  = map[string]*int{}
		truth  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "synth OUT.jsonl",
		Short: "Write a synthetic preference data set with planted annotator flaws",
		Long: `synth writes TRL JSONL (prompt, chosen, rejected, annotator, timestamp, order) labelled by
simulated annotators of known kinds: honest, sycophantic, length_biased, position_biased,
drifting (honest until a time, then random) and spammer; plus planted duplicates,
contradictions and cycles. --truth writes what was planted, to check 'data audit' against.`,
		Example: `  alignlab data synth --items 5000 --truth truth.json prefs.jsonl && alignlab data audit prefs.jsonl
  alignlab data synth --spammer 5 --seed 3 --json noisy.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Checked before OUT is created, so a bad flag leaves no empty
			// file (the library reads 0 as its default and ignores < 0).
			if cfg.Items < 1 || cfg.LabelsPerItem < 1 {
				return &exitError{code: 2, err: fmt.Errorf("--items %d, --labels-per-item %d: want 1 or more", cfg.Items, cfg.LabelsPerItem)}
			}
			cfg.Annotators = map[string]int{}
			total := 0
			for k, v := range kinds {
				if *v < 0 {
					return &exitError{code: 2, err: fmt.Errorf("--%s %d: want 0 or more", k, *v)}
				}
				cfg.Annotators[k] = *v
				total += *v
			}
			if total < cfg.LabelsPerItem {
				return &exitError{code: 2, err: fmt.Errorf("%d annotators cannot give --labels-per-item %d", total, cfg.LabelsPerItem)}
			}
			if err := checkNonNegative(intFlag{"--duplicates", cfg.Duplicates}, intFlag{"--contradictions", cfg.Contradictions},
				intFlag{"--cycles", cfg.Cycles}); err != nil {
				return &exitError{code: 2, err: err}
			}
			f, err := os.Create(args[0])
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			t, err := prefs.WriteSynth(f, cfg)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("write %s: %w", args[0], err)}
			}
			if truth != "" {
				b, _ := json.MarshalIndent(t, "", "  ")
				if err := os.WriteFile(truth, b, 0o644); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"out": args[0], "rows": t.Rows, "truth": truth})
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "synth: wrote %d rows to %s\n", t.Rows, args[0])
			return nil
		},
	}
	fl := cmd.Flags()
	fl.Uint64Var(&cfg.Seed, "seed", 0, "random seed")
	fl.IntVar(&cfg.Items, "items", 2000, "distinct prompt/response pairs")
	fl.IntVar(&cfg.LabelsPerItem, "labels-per-item", 5, "annotators labelling each pair")
	for _, k := range []struct {
		name string
		def  int
	}{{prefs.KindHonest, 20}, {prefs.KindSycophantic, 2}, {prefs.KindLengthBiased, 2},
		{prefs.KindPositionBiased, 2}, {prefs.KindDrifting, 2}, {prefs.KindSpammer, 2}} {
		kinds[k.name] = fl.Int(k.name, k.def, "annotators of kind "+k.name)
	}
	fl.IntVar(&cfg.Duplicates, "duplicates", 20, "duplicate rows to plant (half exact, half normalized)")
	fl.IntVar(&cfg.Contradictions, "contradictions", 10, "contradicting rows to plant")
	fl.IntVar(&cfg.Cycles, "cycles", 3, "3-cycles to plant")
	fl.StringVar(&truth, "truth", "", "also write the planted truth as JSON to this file")
	fl.BoolVar(&asJSON, "json", false, `print {"out", "rows", "truth"} as JSON on stdout`)
	return cmd
}
