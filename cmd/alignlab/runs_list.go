package main

// The run index behind 'alignlab runs': audit runs from the SQLite store
// and run directories (run.json) under the runs root, merged by id, each
// with a status and a one-line headline figure.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/store"
	"github.com/alignlab/alignlab/train"
)

// runEntry is one run as 'runs ls' shows it.
type runEntry struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Created time.Time `json:"created"`
	// Subject is what the run was about: the audited model or target, the
	// trained model, the audited data files, the inspected model.
	Subject  string `json:"subject"`
	Status   string `json:"status"`
	Headline string `json:"headline"`
	// Dir is the run directory, when there is one.
	Dir string `json:"dir,omitempty"`
	// InStore says the store holds the run (audits).
	InStore bool `json:"in_store"`

	meta  *rundir.Meta
	audit *store.Run
}

// runIndex lists every run under root and in the store at db (which is
// only read: a missing database is no audits, not a new file).
func runIndex(ctx context.Context, db, root string) ([]*runEntry, error) {
	byID := map[string]*runEntry{}
	var out []*runEntry
	if _, err := os.Stat(db); err == nil {
		st, err := store.Open(db)
		if err != nil {
			return nil, err
		}
		runs, err := st.Runs(ctx)
		st.Close()
		if err != nil {
			return nil, err
		}
		for i := range runs {
			r := &runs[i]
			e := &runEntry{ID: r.ID, Kind: "audit", Subject: auditSubject(r), Status: r.Status, InStore: true, audit: r}
			e.Created, _ = time.Parse(time.RFC3339Nano, r.CreatedAt)
			if s, err := store.ParseAuditSummary(r.Summary); err == nil {
				e.Headline = auditHeadline(s)
			} else {
				e.Headline = "-"
			}
			byID[r.ID] = e
			out = append(out, e)
		}
	}
	metas, err := rundir.List(root)
	if err != nil {
		return nil, fmt.Errorf("%w (each run directory under %s needs a valid run.json; move a broken one aside)", err, root)
	}
	for i := range metas {
		m := &metas[i]
		dir := filepath.Join(root, m.ID)
		if e, ok := byID[m.ID]; ok { // an audit's directory: the store has the results
			e.Dir, e.meta = dir, m
			continue
		}
		e := &runEntry{ID: m.ID, Kind: m.Kind, Created: m.Created, Dir: dir, meta: m}
		describeDir(e)
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

func auditSubject(r *store.Run) string {
	switch {
	case r.Model != "" && r.Target != "":
		return r.Model + " @ " + r.Target
	case r.Model != "":
		return r.Model
	}
	return r.Target
}

// auditHeadline is the gate's verdict and the first flagged probe, or the
// number of probes that passed.
func auditHeadline(s *store.AuditSummary) string {
	var flagged []string
	for _, n := range s.Names() {
		if p := s.Probes[n]; p != nil && p.Flagged {
			flagged = append(flagged, fmt.Sprintf("%s %.3f [%.3f, %.3f]", n, p.Estimate, p.CILow, p.CIHigh))
		}
	}
	switch {
	case len(s.Errors) > 0:
		return fmt.Sprintf("incomplete: %d errors", len(s.Errors))
	case len(flagged) > 0:
		return "FAIL " + strings.Join(flagged, "; ")
	}
	return fmt.Sprintf("pass, %d probes", len(s.Probes))
}

// describeDir fills a run directory's subject, status and headline from
// the files its kind writes.
func describeDir(e *runEntry) {
	e.Subject = flagValue(e.meta.Command, "--model")
	e.Status, e.Headline = "incomplete", "-"
	switch {
	case e.Kind == "lab":
		s, err := rundir.ReadLabSummary(e.Dir)
		if err != nil {
			return
		}
		e.Status = "done"
		e.Subject = fmt.Sprintf("lab seed %d", s.Seed)
		if s.Quick {
			e.Subject += " (quick)"
		}
		verdict := "fails"
		if s.ValidityCheck.Pass {
			verdict = "passes"
		}
		e.Headline = fmt.Sprintf("validity check %s, %d detectors, %d policies on the trilemma, %.0fs", verdict, len(s.Validity), len(s.Trilemma), s.Seconds)
	case strings.HasPrefix(e.Kind, "train-"):
		var cfg struct {
			Model string `json:"model"`
		}
		if train.ReadJSON(filepath.Join(e.Dir, train.RunConfigFile), &cfg) == nil {
			e.Subject = cfg.Model
		}
		switch {
		case train.RunInUse(e.Dir):
			e.Status = "running"
		case isDir(filepath.Join(e.Dir, "model")):
			e.Status = "done"
		}
		if ms, err := train.ReadMetrics(e.Dir); err == nil {
			e.Headline = trainHeadline(ms)
		}
	case e.Kind == "audit": // a directory whose run is not in this store
		var s store.AuditSummary
		if readJSONFile(filepath.Join(e.Dir, "audit.json"), &s) != nil {
			return
		}
		e.Status, e.Subject, e.Headline = "done", s.Target, auditHeadline(&s)
	case e.Kind == "data-audit":
		var rep struct {
			Files      []struct{ Path string } `json:"files"`
			Rows       int                     `json:"rows"`
			Invalid    []json.RawMessage       `json:"invalid"`
			Annotators []struct {
				Flags []string `json:"flags"`
			} `json:"annotators"`
		}
		if readJSONFile(filepath.Join(e.Dir, "data_audit.json"), &rep) != nil {
			return
		}
		e.Status = "done"
		var files []string
		for _, f := range rep.Files {
			files = append(files, f.Path)
		}
		e.Subject = strings.Join(files, ",")
		flagged := 0
		for _, a := range rep.Annotators {
			if len(a.Flags) > 0 {
				flagged++
			}
		}
		e.Headline = fmt.Sprintf("%d rows, %d invalid, %d of %d annotators flagged", rep.Rows, len(rep.Invalid), flagged, len(rep.Annotators))
	case strings.HasPrefix(e.Kind, "inspect-"):
		var res struct {
			Model   string `json:"model"`
			Summary string `json:"summary"`
		}
		if readJSONFile(filepath.Join(e.Dir, "inspect.json"), &res) != nil {
			return
		}
		e.Status = "done"
		if res.Model != "" {
			e.Subject = res.Model
		}
		if res.Summary != "" {
			e.Headline = res.Summary
		}
	}
}

// trainHeadline is a training run's last logged training figure (loss,
// or the RL methods' score or reward) and its last eval_loss.
func trainHeadline(ms []map[string]float64) string {
	h := "-"
	for _, k := range []string{"loss", "objective/scores", "reward"} {
		for i := len(ms) - 1; i >= 0; i-- {
			if v, ok := ms[i][k]; ok {
				h = fmt.Sprintf("%s %.4f at step %.0f", k, v, ms[i]["step"])
				break
			}
		}
		if h != "-" {
			break
		}
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if v, ok := ms[i]["eval_loss"]; ok {
			return fmt.Sprintf("%s, eval_loss %.4f", h, v)
		}
	}
	return h
}

// flagValue returns the value of flag in a recorded command line.
func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

func readJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// findRun picks the run an argument names: an id, a unique id prefix, or
// a run directory's path.
func findRun(runs []*runEntry, arg string) (*runEntry, error) {
	clean := filepath.Clean(arg)
	for _, e := range runs {
		if e.ID == arg || (e.Dir != "" && filepath.Clean(e.Dir) == clean) {
			return e, nil
		}
	}
	if base := filepath.Base(clean); base != arg {
		for _, e := range runs {
			if e.ID == base {
				return e, nil
			}
		}
	}
	var hits []*runEntry
	for _, e := range runs {
		if strings.HasPrefix(e.ID, arg) {
			hits = append(hits, e)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return nil, fmt.Errorf("no run %q; 'alignlab runs ls' lists the runs (use --db or --dir if they are elsewhere)", arg)
	}
	var ids []string
	for _, e := range hits {
		ids = append(ids, e.ID)
	}
	return nil, errors.New("run " + arg + " is ambiguous: it starts " + strings.Join(ids, ", ") + "; give more of the id")
}
