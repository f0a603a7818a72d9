package main

import (
	"bytes"
	"fmt"
	"path/filepath"
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

// TestQuietSilencesStderr: --quiet (-q, on every command) leaves nothing on
// stderr, including the lines a command prints beside its progress, and
// -q parses on commands that once had a --quiet of their own.
func TestQuietSilencesStderr(t *testing.T) {
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs([]string{"-q", "data", "synth", "--items", "50", filepath.Join(t.TempDir(), "p.jsonl")})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if errb.Len() != 0 {
		t.Errorf("data synth -q wrote to stderr: %q", errb.String())
	}
	for _, sub := range []string{"train", "eval"} {
		_, err := runCLI(t, "inspect", "sae", sub, "-q")
		if err == nil || strings.Contains(err.Error(), "unknown shorthand") {
			t.Errorf("inspect sae %s -q: %v, want the missing-flag error, not an unknown -q", sub, err)
		}
	}
}

// TestMissingRequiredFlagIsUsageError: a required flag left out is a usage
// error, so main points at the command's --help as for other usage errors.
func TestMissingRequiredFlagIsUsageError(t *testing.T) {
	for _, args := range [][]string{{"tokenizer", "encode", "hi"}, {"tokenizer", "decode", "1"}, {"serve"}} {
		_, err := runCLI(t, args...)
		if err == nil || !isUsageError(err) {
			t.Errorf("alignlab %s: %v, want a usage error (main then names --help)", strings.Join(args, " "), err)
		}
	}
}

// TestNonFiniteFloatFlags: NaN or an infinity in any float flag is a usage
// error naming the flag, before any work (they used to pass range checks,
// or fail at config.json's encoder after the run directory was made).
func TestNonFiniteFloatFlags(t *testing.T) {
	for _, args := range [][]string{
		{"train", "dpo", "--model", "m", "--data", "d", "--beta", "NaN"},
		{"train", "ppo", "--model", "m", "--reward-model", "r", "--prompts", "p", "--kl-coef", "NaN"},
		{"train", "sft", "--model", "m", "--data", "d", "--learning-rate", "+Inf"},
		{"data", "audit", "x.jsonl", "--min-effect", "NaN"},
		{"inspect", "steer", "--scale", "-Inf"},
		{"audit", "--target", "t", "--temperature", "NaN"},
	} {
		_, err := runCLI(t, args...)
		flag := args[len(args)-2]
		if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), flag+" ") {
			t.Errorf("alignlab %s: %v (exit %d), want exit 2 naming %s", strings.Join(args, " "), err, exitCode(err), flag)
		}
	}
}

// TestBenchRejectsNonPositiveCounts: --reps 0 used to panic (index out of
// range) and --rows -5 to run the full million-row benchmark.
func TestBenchRejectsNonPositiveCounts(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "audit", "-q", "--n", "10", "--reps", "0"},
		{"bench", "audit", "-q", "--n", "10", "--concurrency", "0"},
		{"bench", "data", "-q", "--rows", "-5"},
		{"bench", "data", "-q", "--rows", "100", "--repeat", "0"},
	} {
		_, err := runCLI(t, args...)
		flag := args[len(args)-2]
		if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), flag) {
			t.Errorf("alignlab %s: %v, want exit 2 naming %s", strings.Join(args, " "), err, flag)
		}
	}
}
