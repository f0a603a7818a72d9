// Command alignlab trains small language models to follow preferences,
// attacks them for the documented alignment failure modes, and looks inside
// them. Each subcommand lives in its own file; this file only wires them.
package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes, the same for every command (README "Exit codes"):
const (
	exitOK = 0
	// exitGate: the command ran and a check it gates on failed (audit:
	// a policy rule does not hold).
	exitGate = 1
	// exitErr: any error: a usage error (unknown flag, missing or extra
	// argument), bad input, or work that could not complete.
	exitErr = 2
)

// exitCodesHelp is the exit-code table shown by 'alignlab --help'.
const exitCodesHelp = `Exit codes:
  0  success
  1  a gate failed: the command ran and a check failed (audit: a policy rule does not hold)
  2  error: a usage error (unknown flag, missing argument), bad input, or work that could not complete`

// exitError carries a specific exit code out of a command (the audit gate
// uses exitGate for a failed policy and exitErr for errors).
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

Start with 'alignlab lab', which runs the whole system on an embedded synthetic world.
Results go to stdout (tables, or JSON with --json); progress goes to stderr and is
silenced by --quiet. 'alignlab runs ls' lists past runs.

` + exitCodesHelp,
		Example: `  alignlab lab --quick
  alignlab audit --target http://localhost:8000/v1 --model my-model --json
  alignlab runs ls`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolP("quiet", "q", false, "no progress on stderr (results still go to stdout)")
	// --quiet silences everything a command writes to its stderr, not only
	// the progress lines each command checks the flag for; errors still
	// reach os.Stderr from main.
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if quietFlag(c) {
			c.Root().SetErr(io.Discard)
		}
		return checkFiniteFlags(c)
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitErr, err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newVersionCmd(), newBenchCmd(), newLabCmd(), newDataCmd(), newAuditCmd(), newServeCmd(), newTokenizerCmd(), newExportCmd(), newTrainCmd(), newInspectCmd(), newReportCmd(), newRunsCmd())
	return root
}

// checkFiniteFlags rejects NaN or an infinity given to any float flag: no
// option means anything by them, and a NaN passes range checks written as
// v < lo || v > hi (or fails later, at a JSON encoder, naming no flag).
func checkFiniteFlags(c *cobra.Command) error {
	var bad error
	c.Flags().Visit(func(f *pflag.Flag) {
		if bad != nil || (f.Value.Type() != "float64" && f.Value.Type() != "float32") {
			return
		}
		if v, err := strconv.ParseFloat(f.Value.String(), 64); err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			bad = &exitError{code: exitErr, err: fmt.Errorf("--%s %s: want a finite number (see '%s --help')", f.Name, f.Value.String(), c.CommandPath())}
		}
	})
	return bad
}

// intFlag is an integer flag's name and value, for checkNonNegative.
type intFlag struct {
	name string
	v    int
}

// checkNonNegative reports the first of flags below 0, naming it.
func checkNonNegative(flags ...intFlag) error {
	for _, f := range flags {
		if f.v < 0 {
			return fmt.Errorf("%s %d: want 0 or more", f.name, f.v)
		}
	}
	return nil
}

// quietFlag reports whether --quiet was given (the root's persistent flag,
// or a command's own).
func quietFlag(c *cobra.Command) bool {
	q, err := c.Flags().GetBool("quiet")
	return err == nil && q
}

func main() {
	cmd, err := newRootCmd().ExecuteC()
	if err == nil {
		return
	}
	if isUsageError(err) {
		err = fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())
	}
	fmt.Fprintln(os.Stderr, "alignlab:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(exitErr)
}

// isUsageError reports whether err is one of cobra's argument errors
// (cobra.ExactArgs and friends, unknown commands, a missing required
// flag), which are not typed.
func isUsageError(err error) bool {
	var ee *exitError
	if errors.As(err, &ee) {
		return false
	}
	m := err.Error()
	for _, p := range []string{"accepts ", "requires at least ", "requires at most ", "unknown command ", "invalid argument ", "required flag(s) "} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}
