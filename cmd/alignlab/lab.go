package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newLabCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "lab",
		Short: "Run the embedded lab: train model organisms, audit them, write a report",
		Long: `lab builds a synthetic world with verifiable answers and simulated annotators,
trains model organisms with DPO and RLHF, runs every detector on every organism and
writes runs/<id>/report.html.

Not built yet: the lab arrives with issue #7. Until then this command says so and
exits with status 2.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return &exitError{code: 2, err: errors.New("the lab is not built yet (issue #7); it will build the lab world, train organisms with DPO and RLHF, audit them and write runs/<id>/report.html")}
		},
	}
}
