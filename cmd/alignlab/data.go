package main

import (
	"github.com/spf13/cobra"
)

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Inspect preference data sets (audit, synthetic data)",
		Long: `data works on human preference data before anyone trains on it: 'data audit' finds
malformed rows, duplicates, contradictions, cycles, biases, bad annotators and drift;
'data synth' writes a synthetic data set with planted annotator flaws to try it on.`,
	}
	cmd.AddCommand(newDataAuditCmd(), newDataSynthCmd())
	return cmd
}
