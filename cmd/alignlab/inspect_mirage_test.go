package main

import (
	"strings"
	"testing"
)

// The mirage case itself is tested in interp/mirage (it trains two
// organisms); here, the flag errors that stop before any work.
func TestInspectMirageFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--control", "x"}, "--control needs --model"},
		{[]string{"--position", "first"}, "--position"},
		{[]string{"--run", t.TempDir()}, "config.json"},
		{[]string{"--model", t.TempDir()}, "load policy"},
		{[]string{"--fit", "-5"}, "--fit"}, // used to panic in make
		{[]string{"--n", "-1"}, "--n"},
	} {
		_, err := runCLI(t, append([]string{"inspect", "mirage", "--out", ""}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != 2 {
			t.Errorf("%v: %v (exit %d); want exit 2 mentioning %q", c.args, err, exitCode(err), c.want)
		}
	}
}
