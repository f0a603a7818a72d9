package main

import (
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the performance benchmarks",
		Long:  "bench runs alignlab's performance benchmarks; each subcommand measures one part against the peers its issue names.",
		Example: `  alignlab bench engine --quick
  alignlab bench data --rows 100000 --json`,
	}
	cmd.AddCommand(newBenchEngineCmd())
	cmd.AddCommand(newBenchDataCmd())
	cmd.AddCommand(newBenchAuditCmd())
	cmd.AddCommand(newBenchServeCmd())
	cmd.AddCommand(newBenchDPOPPOCmd())
	return cmd
}
