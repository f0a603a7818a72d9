package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alignlab/alignlab/internal/atomicfile"
	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/internal/textfile"
)

// File names inside a run directory that the report reads or writes.
const (
	// FileName is the report itself.
	FileName = "report.html"
	// AuditFile is an audit's summary (audit.Summary as JSON).
	AuditFile = "audit.json"
	// DataAuditFile is a data audit's report (prefs.Report as JSON).
	DataAuditFile = "data_audit.json"
)

// errNotOurs says a file has the expected name but another program's
// content (a summary.json that is not a lab summary): skipped, not an
// error.
var errNotOurs = errors.New("not an alignlab file")

// Options are WriteRun's choices.
type Options struct {
	// Out is the file to write; empty writes <dir>/report.html.
	Out string
}

// WriteRun renders the run in dir and writes it to opts.Out (default
// dir/report.html), returning the path written. Inspect commands call it
// right after writing inspect.json; lab, audit and data audit after their
// own files.
func WriteRun(dir string, opts Options) (string, error) {
	p, err := Build(dir)
	if err != nil {
		return "", err
	}
	out := opts.Out
	if out == "" {
		out = filepath.Join(dir, FileName)
	}
	if err := writeFileAtomic(out, p); err != nil {
		return "", err
	}
	return out, nil
}

// writeFileAtomic renders p into path atomically (atomicfile.Write), so a
// reader never sees half a report.
func writeFileAtomic(path string, p *Page) error {
	if d := filepath.Dir(path); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	if err := atomicfile.Write(path, p.Render); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// Build reads the run directory dir and lays out its report: a section
// for each kind of data found.
func Build(dir string) (*Page, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("report: %s is not a run directory", dir)
	}
	p := &Page{Title: "alignlab run " + filepath.Base(dir)}
	meta, err := rundir.ReadMeta(dir)
	hasMeta := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("report: %w", err)
	}
	if hasMeta {
		p.provenance(meta)
	}
	found := false
	for _, part := range []struct {
		file string
		add  func(*Page, string, bool) error
	}{
		{"summary.json", addLab},
		{"metrics.jsonl", addTrain},
		{AuditFile, addAudit},
		{DataAuditFile, addDataAudit},
		{"inspect.json", addInspect},
	} {
		path := filepath.Join(dir, part.file)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		err := part.add(p, dir, hasMeta)
		if errors.Is(err, errNotOurs) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("report %s: %w", dir, err)
		}
		found = true
	}
	if !found {
		return nil, fmt.Errorf("report: %s has nothing to report (want summary.json, metrics.jsonl, %s, %s or inspect.json); is it a run directory?",
			dir, AuditFile, DataAuditFile)
	}
	return p, nil
}

// provenance adds run.json's facts and command to the header.
func (p *Page) provenance(m rundir.Meta) {
	p.Facts = append(p.Facts, [2]string{"run", m.ID}, [2]string{"kind", m.Kind})
	if m.Seed != nil {
		p.Facts = append(p.Facts, [2]string{"seed", fmt.Sprint(*m.Seed)})
	}
	if !m.Created.IsZero() {
		p.Facts = append(p.Facts, [2]string{"created", m.Created.UTC().Format("2006-01-02 15:04:05 UTC")})
	}
	if m.Version != "" {
		p.Facts = append(p.Facts, [2]string{"alignlab version", m.Version})
	}
	if len(m.Command) > 0 {
		p.Commands = append(p.Commands, shellJoin(m.Command))
	}
}

// shellJoin quotes args for a POSIX shell where they need it. The
// program is named alignlab whatever path (or test binary) it ran as.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if i == 0 {
			out[i] = "alignlab"
			continue
		}
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}

// shellQuote quotes a for a POSIX shell when it needs it.
func shellQuote(a string) string {
	if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
		return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return a
}

// readJSON decodes dir/name into v (a byte order mark, left by an editor,
// skipped).
func readJSON(dir, name string, v any) error {
	data, err := textfile.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// fact adds a header fact unless one with the key is there.
func (p *Page) fact(k, v string) {
	for _, f := range p.Facts {
		if f[0] == k {
			return
		}
	}
	p.Facts = append(p.Facts, [2]string{k, v})
}

func jsonIndent(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	return append(data, '\n'), err
}
