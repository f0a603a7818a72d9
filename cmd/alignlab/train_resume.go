package main

// What --resume holds a run to: the settings and inputs it started with.
// config.json alone decides a resumed run's settings, so a flag given
// beside --resume would be dropped (or, for an option config.json leaves
// out at its zero value, mixed into the run): it is refused instead. The
// run records its inputs by absolute path and their SHA-256, so a resume
// from another directory finds them and one over edited data is refused
// rather than mixing two data sets in one run.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// resumeFlagsAllowed are the flags that may come with --resume: they
// change what is printed, not the run.
var resumeFlagsAllowed = []string{"resume", "json", "quiet"}

// checkResumeFlags refuses, when --resume is given, every other flag set
// on the command line that would change the run.
func checkResumeFlags(cmd *cobra.Command) error {
	var extra []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if !slices.Contains(resumeFlagsAllowed, f.Name) {
			extra = append(extra, "--"+f.Name)
		}
	})
	if len(extra) == 0 {
		return nil
	}
	return fmt.Errorf("--resume continues the run with the settings in its config.json; drop %s (to change a setting, edit that file or start a new run)", strings.Join(extra, ", "))
}

// absPath makes a non-empty path absolute, so that the run's config
// names the same file from any working directory.
func absPath(p *string) error {
	if *p == "" {
		return nil
	}
	a, err := filepath.Abs(*p)
	if err != nil {
		return err
	}
	*p = a
	return nil
}

// absPaths applies absPath to each path.
func absPaths(ps ...*string) error {
	for _, p := range ps {
		if err := absPath(p); err != nil {
			return err
		}
	}
	return nil
}

// absSlice applies absPath to each element of ps.
func absSlice(ps []string) error {
	for i := range ps {
		if err := absPath(&ps[i]); err != nil {
			return err
		}
	}
	return nil
}

// inputDigests returns the SHA-256 of each named data file that is a
// regular file (empty names and repeats skipped), keyed by path. A pipe
// or other stream is not hashed: reading it here would leave nothing for
// the trainer, and it could not be read again on resume anyway.
func inputDigests(files []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range files {
		if _, seen := out[f]; f == "" || seen {
			continue
		}
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			continue
		}
		d, err := fileDigest(f)
		if err != nil {
			return nil, err
		}
		out[f] = d
	}
	return out, nil
}

// fileDigest is the hex SHA-256 of a file's bytes.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkInputDigests refuses to resume run when a data file it recorded
// is missing or no longer has the recorded content. Runs recorded before
// digests were kept have none and pass.
func checkInputDigests(run string, recorded map[string]string) error {
	paths := make([]string, 0, len(recorded))
	for p := range recorded {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		d, err := fileDigest(p)
		if err != nil {
			return fmt.Errorf("resume %s: its data file: %w", run, err)
		}
		if d != recorded[p] {
			return fmt.Errorf("resume %s: %s changed since the run started (SHA-256 %.12s…, now %.12s…); resuming would mix two data sets in one run: restore the file or start a new run", run, p, recorded[p], d)
		}
	}
	return nil
}
