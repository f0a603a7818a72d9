// Command alignlab trains small language models to follow preferences,
// attacks them for the documented alignment failure modes, and looks inside
// them. Each subcommand lives in its own file; this file only wires them.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a specific exit code out of a command (the audit gate
// uses 1 for a failed policy and 2 for errors).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "alignlab",
		Short: "Align, attack and inspect language models on one machine",
		Long: `alignlab trains language models to follow preferences (DPO family, RLHF baseline),
probes them for the documented alignment failure modes, and inspects them from the inside.

Start with 'alignlab lab', which runs the whole system on an embedded synthetic world.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd(), newBenchCmd(), newLabCmd(), newDataCmd(), newAuditCmd(), newServeCmd(), newTokenizerCmd(), newExportCmd(), newTrainCmd(), newInspectCmd(), newReportCmd())
	return root
}

func main() {
	err := newRootCmd().Execute()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "alignlab:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(2)
}
