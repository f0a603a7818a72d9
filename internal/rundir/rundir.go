// Package rundir names run directories and records what made each one.
//
// Every command that writes runs/<id>/ (lab, train, audit, data audit,
// inspect) also writes runs/<id>/run.json: the kind of run, the exact
// command line (secrets redacted), the seed and the time. Reports print
// it so a reader can reproduce the run, and `alignlab runs` lists runs by
// it.
package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/alignlab/alignlab/internal/textfile"
)

// MetaFile is the name of the run description inside a run directory.
const MetaFile = "run.json"

// Meta describes one run directory.
type Meta struct {
	// ID is the directory's base name, e.g. "inspect-mirage-20261126-221500".
	ID string `json:"id"`
	// Kind says what made the run: "lab", "train-dpo", "audit", "data-audit",
	// "inspect-mirage", ...
	Kind string `json:"kind"`
	// Command is the command line that made the run, secrets redacted.
	Command []string `json:"command"`
	// Seed is the run's seed, when it has one.
	Seed *uint64 `json:"seed,omitempty"`
	// Created is when the run started (UTC).
	Created time.Time `json:"created"`
	// Version is the alignlab version that made the run.
	Version string `json:"version,omitempty"`
}

// NewID returns a fresh run id: the kind and the time in UTC, e.g.
// "inspect-mirage-20261126-221500".
func NewID(kind string, now time.Time) string {
	return kind + "-" + now.UTC().Format("20060102-150405")
}

// Create makes root/<id>/ for a new run of kind, with a fresh id (a
// numeric suffix is added when two runs start in the same second), and
// writes its run.json. It returns the directory and the written Meta.
func Create(root, kind string, command []string, seed *uint64, version string) (string, Meta, error) {
	now := time.Now().UTC()
	base := NewID(kind, now)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", Meta{}, fmt.Errorf("create run directory: %w", err)
	}
	for i := 0; i < 1000; i++ {
		id := base
		if i > 0 {
			id = fmt.Sprintf("%s-%d", base, i+1)
		}
		dir := filepath.Join(root, id)
		err := os.Mkdir(dir, 0o755)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", Meta{}, fmt.Errorf("create run directory: %w", err)
		}
		m := Meta{ID: id, Kind: kind, Command: Redact(command), Seed: seed, Created: now, Version: version}
		if err := WriteMeta(dir, m); err != nil {
			return "", Meta{}, err
		}
		return dir, m, nil
	}
	return "", Meta{}, fmt.Errorf("create run directory: too many runs named %s", base)
}

// WriteMeta writes m to dir/run.json atomically (temporary file, then
// rename), so a reader never sees half a file.
func WriteMeta(dir string, m Meta) error {
	m.Command = Redact(m.Command)
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", MetaFile, err)
	}
	tmp, err := os.CreateTemp(dir, ".run-*.json")
	if err != nil {
		return fmt.Errorf("write %s: %w", MetaFile, err)
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", MetaFile, errors.Join(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, MetaFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", MetaFile, err)
	}
	return nil
}

// ReadMeta reads dir/run.json.
func ReadMeta(dir string) (Meta, error) {
	var m Meta
	data, err := textfile.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return m, fmt.Errorf("read run %s: %w", dir, err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("read run %s: %s: %w", dir, MetaFile, err)
	}
	return m, nil
}

// List returns the Meta of every run directory directly under root that
// has a run.json, newest first. A missing root is no runs, not an error.
func List(root string) ([]Meta, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var out []Meta
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		m, err := ReadMeta(filepath.Join(root, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// secretFlags are flags whose values must never be written down.
var secretFlags = []string{"--api-key", "--token", "--password", "--secret", "--key"}

// Redact returns a copy of args with the values of secret-bearing flags
// (--api-key and similar, in both "--flag value" and "--flag=value" form)
// replaced by "REDACTED", and so the user info and query values of any URL
// (https://user:key@host/v1?api_key=...), which endpoints take credentials
// in. Flags that name an environment variable holding the secret
// (--api-key-env) are kept: the name is not the secret.
func Redact(args []string) []string {
	out := append([]string(nil), args...)
	for i := 0; i < len(out); i++ {
		a := out[i]
		name, value, hasValue := strings.Cut(a, "=")
		if hasValue && strings.HasPrefix(name, "-") {
			out[i] = name + "=" + redactURL(value)
		} else {
			out[i] = redactURL(a)
		}
		if !isSecretFlag(name) {
			continue
		}
		if hasValue {
			out[i] = name + "=REDACTED"
		} else if i+1 < len(out) {
			out[i+1] = "REDACTED"
			i++
		}
	}
	return out
}

// redactURL hides the user info and query values of s if it is a URL
// with either, keeping its shape so the command still reads; anything
// else comes back as it is.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		if strings.ContainsAny(s, "@?") {
			return "REDACTED-URL"
		}
		return s
	}
	if u.User == nil && u.RawQuery == "" {
		return s
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func isSecretFlag(name string) bool {
	if strings.HasSuffix(name, "-env") || strings.HasSuffix(name, "-file") {
		return false
	}
	for _, s := range secretFlags {
		if name == s || (strings.HasPrefix(name, "--") && strings.HasSuffix(name, strings.TrimPrefix(s, "-"))) {
			return true
		}
	}
	return false
}
