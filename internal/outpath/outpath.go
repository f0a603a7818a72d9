// Package outpath refuses an output path that would replace one of the
// command's own inputs: an export written over the file it was read from,
// a directory written into the model directory it loads. Commands call it
// with their flags before doing any work, so bad input loses nothing.
package outpath

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Input is a file or directory a command reads.
type Input struct {
	// Path is the file or directory, as the user named it.
	Path string
	// What says what the input is, for the error: "the model's weights".
	What string
	// Tree marks Path as a directory every existing file under which is
	// an input (a run directory that a report reads whole).
	Tree bool
}

// File returns an error when writing the file out (the value of the flag
// or option called name) would replace one of ins.
func File(name, out string, ins ...Input) error {
	return Files(name, out, []string{out}, ins...)
}

// Files returns an error when writing any of paths, the files that out
// (the value of name) makes the command write, would replace one of ins;
// e.g. an export and the manifest written beside it.
func Files(name, out string, paths []string, ins ...Input) error {
	for _, p := range paths {
		for _, in := range ins {
			if !clobbers(p, in) {
				continue
			}
			if p == out {
				return fmt.Errorf("%s %s is one of the inputs (%s); choose another path", name, out, describe(p, in))
			}
			return fmt.Errorf("%s %s would write %s, one of the inputs (%s); choose another path", name, out, p, describe(p, in))
		}
	}
	return nil
}

// Dir returns an error when the directory out (the value of name) is one
// of ins, or when writing the files names into it would replace one of
// ins. Other files already in out are left alone by the commands, so an
// input merely inside out is no clash.
func Dir(name, out string, names []string, ins ...Input) error {
	for _, in := range ins {
		if Same(out, in.Path) {
			return fmt.Errorf("%s %s is one of the inputs (%s); choose another directory", name, out, describe(out, in))
		}
	}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(out, n)
	}
	return Files(name, out, paths, ins...)
}

// Same reports whether a and b name the same file. Existing paths are
// compared with os.SameFile, which sees through symbolic links, hard links
// and spellings such as ./a; when neither exists, as resolved absolute
// paths, since a file not yet written can still be one the command reads
// later (a tokenizer_config.json the model directory lacks).
func Same(a, b string) bool {
	ai, aerr := os.Stat(a)
	bi, berr := os.Stat(b)
	switch {
	case aerr == nil && berr == nil:
		return os.SameFile(ai, bi)
	case aerr == nil || berr == nil:
		return false
	}
	return resolve(a) == resolve(b)
}

// clobbers reports whether writing p replaces the input in.
func clobbers(p string, in Input) bool {
	if !in.Tree {
		return Same(p, in.Path)
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return false
	}
	root := resolve(in.Path)
	return strings.HasPrefix(resolve(p), root+string(filepath.Separator))
}

// describe says what in is, and where when the user spelled it otherwise.
func describe(p string, in Input) string {
	if in.Tree || filepath.Clean(p) == filepath.Clean(in.Path) {
		return in.What
	}
	return in.What + ", " + in.Path
}

// resolve is p made absolute with the symbolic links of its longest
// existing prefix followed, so that two spellings of a file that does not
// exist yet compare equal.
func resolve(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for d := abs; ; {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return abs
		}
		rest = filepath.Join(filepath.Base(d), rest)
		d = parent
	}
}
