package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// noJSON lists the runnable commands without --json and why: each prints
// no result a script would parse. README "Exit codes and output" repeats it.
// It is empty now: serve prints its address as JSON, the rest their
// results.
var noJSON = map[string]string{}

// TestCommandTree walks every command: each has a Short line, each
// runnable one an Example and --json (or a reason in noJSON), and every
// flag has a usage line.
func TestCommandTree(t *testing.T) {
	seen, hasJSON := map[string]bool{}, map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := c.CommandPath()
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if strings.TrimSpace(c.Short) == "" {
			t.Errorf("%s: no Short", path)
		}
		seen[path] = true
		hasJSON[path] = c.Flags().Lookup("json") != nil
		if c.Runnable() {
			if strings.TrimSpace(c.Example) == "" {
				t.Errorf("%s: no Example", path)
			}
			if c.Flags().Lookup("json") == nil && c.InheritedFlags().Lookup("json") == nil {
				if _, ok := noJSON[path]; !ok {
					t.Errorf("%s: no --json and not in the exemption list", path)
				}
			}
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s: no usage line", path, f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	for path := range noJSON {
		if !seen[path] || hasJSON[path] {
			t.Errorf("noJSON lists %s, which is no command or has --json: drop it", path)
		}
	}
}

// TestUsageErrorsExit2 gives every runnable command an unknown flag: each
// must exit 2 and point at its --help.
func TestUsageErrorsExit2(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if c.Runnable() {
			paths = append(paths, path)
		}
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(newRootCmd(), nil)
	if len(paths) < 20 {
		t.Fatalf("only %d runnable commands found", len(paths))
	}
	for _, p := range paths {
		_, err := runCLI(t, append(p, "--no-such-flag")...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "--help") {
			t.Errorf("alignlab %s --no-such-flag: exit %d (%v), want 2 and a pointer to --help", strings.Join(p, " "), exitCode(err), err)
		}
	}
}
