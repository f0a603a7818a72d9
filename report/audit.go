package report

// An audit's report: the probe scorecard with intervals, from audit.json
// in the run directory or from the run's record in the SQLite store.
//
// An audit run is named by its store run id (audit-<hash of its flags>, or
// --run-id); its directory is <runs>/<id>/ beside the database (runs/ for
// the default runs/alignlab.db), holding run.json, audit.json and
// report.html.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/alignlab/alignlab/audit"
	"github.com/alignlab/alignlab/internal/rundir"
	"github.com/alignlab/alignlab/store"
)

// AuditDir is the run directory of audit run id for the database at db:
// <dir of db>/<id>.
func AuditDir(db, id string) string { return filepath.Join(filepath.Dir(db), id) }

// SaveAudit writes an audit's run directory, dir/run.json (kept from an
// earlier run of the same id, so a resumed audit keeps its creation time)
// and dir/audit.json, then its report. It returns the report's path.
func SaveAudit(dir string, meta rundir.Meta, sum *audit.Summary) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("audit run directory: %w", err)
	}
	if old, err := rundir.ReadMeta(dir); err == nil && !old.Created.IsZero() {
		meta.Created = old.Created
	}
	meta.ID = filepath.Base(dir)
	if meta.Kind == "" {
		meta.Kind = "audit"
	}
	if err := rundir.WriteMeta(dir, meta); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", AuditFile, err)
	}
	if err := os.WriteFile(filepath.Join(dir, AuditFile), append(data, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", AuditFile, err)
	}
	return WriteRun(dir, Options{})
}

// AuditFromStore recreates the run directory of audit run id from the
// store at db (for audits run before reports were written, or whose
// directory was deleted) and returns the directory.
func AuditFromStore(ctx context.Context, db, id string) (string, error) {
	if _, err := os.Stat(db); err != nil {
		return "", fmt.Errorf("no run directory %q and no database %s to look the audit up in (pass --db)", id, db)
	}
	st, err := store.Open(db)
	if err != nil {
		return "", err
	}
	defer st.Close()
	r, ok, err := st.GetRun(ctx, id)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("no run directory %q and no audit run %q in %s; `alignlab runs ls` lists them", id, id, db)
	}
	if r.Summary == "" {
		return "", fmt.Errorf("audit run %s has status %q and no results yet; rerun its audit command to finish it", id, r.Status)
	}
	var sum audit.Summary
	if err := json.Unmarshal([]byte(r.Summary), &sum); err != nil {
		return "", fmt.Errorf("audit run %s: stored summary: %w", id, err)
	}
	dir := AuditDir(db, id)
	meta := rundir.Meta{Kind: "audit"}
	var ident map[string]any
	if json.Unmarshal([]byte(r.Config), &ident) == nil {
		if s, ok := ident["seed"].(float64); ok && s >= 0 {
			seed := uint64(s)
			meta.Seed = &seed
		}
	}
	if _, err := SaveAudit(dir, meta, &sum); err != nil {
		return "", err
	}
	return dir, nil
}

// ruleBound returns the bound a rule compares with, if it has one.
func ruleBound(r *audit.Rule) *float64 {
	switch {
	case r == nil:
		return nil
	case r.Max != nil:
		return r.Max
	case r.Min != nil:
		return r.Min
	}
	return nil
}

// addAudit adds an audit's scorecard.
func addAudit(p *Page, dir string, _ bool) error {
	var sum audit.Summary
	if err := readJSON(dir, AuditFile, &sum); err != nil {
		return err
	}
	if len(sum.Probes) == 0 && len(sum.Errors) == 0 {
		return errors.New("audit.json has no probes")
	}
	for n, r := range sum.Probes {
		if r == nil {
			return fmt.Errorf("audit.json: probe %q is null", n)
		}
	}
	p.Title = "alignlab audit: " + sum.RunID
	verdict := "PASS: every policy rule holds"
	switch sum.ExitCode() {
	case 1:
		verdict = "FAIL: a policy rule does not hold"
	case 2:
		verdict = "ERROR: the audit did not complete"
	}
	p.Subtitle = verdict
	p.fact("run", sum.RunID)
	p.fact("target", sum.Target)
	p.Facts = append(p.Facts, [2]string{"samples", fmt.Sprintf("%d tasks (%d from earlier runs, %d new, %d failed)",
		sum.Tasks.Total, sum.Tasks.Skipped, sum.Tasks.Done, sum.Tasks.Failed)})
	names := make([]string, 0, len(sum.Probes))
	for n := range sum.Probes {
		names = append(names, n)
	}
	sort.Strings(names)
	s := &Section{ID: "scorecard", Title: "Probe scorecard",
		Intro: "Each probe's estimate with its 95% confidence interval; the gate compares it with the policy's threshold (▼)."}
	var rows, mrows []ForestRow
	tbl := &Table{Columns: []string{"probe", "estimate", "95% CI", "n", "rule", "result", "test", "p"}}
	for _, n := range names {
		r := sum.Probes[n]
		if r.Error != "" {
			tbl.Rows = append(tbl.Rows, []string{n, "–", "–", "–", "–", "ERROR: " + r.Error, "", ""})
			tbl.Classes = append(tbl.Classes, "bad")
			continue
		}
		rule, result, cls := "–", "pass", "good"
		if r.Threshold != nil {
			rule = r.Threshold.String()
		}
		if r.Flagged {
			result, cls = "FAIL", "bad"
		}
		pv := ""
		if r.PValue != nil {
			pv = fmt.Sprintf("%.3g", *r.PValue)
		}
		tbl.Rows = append(tbl.Rows, []string{n, fmtVal(r.Estimate), fmt.Sprintf("[%s, %s]", fmtVal(r.CILow), fmtVal(r.CIHigh)), fmt.Sprint(r.N), rule, result, r.Test, pv})
		tbl.Classes = append(tbl.Classes, cls)
		detail := fmt.Sprintf("n=%d, %s", r.N, r.Test)
		if e, ok := r.Details["estimand"]; ok {
			detail = fmt.Sprint(e) + "; " + detail
		}
		rows = append(rows, ForestRow{Label: n, Group: "probe", Est: r.Estimate, Lo: r.CILow, Hi: r.CIHigh, Flagged: r.Flagged,
			Threshold: ruleBound(r.Threshold), Detail: detail, FlagName: "FAIL (rule broken)", UnflaggedName: "pass"})
		for _, m := range sortedStatKeys(r.Metrics) {
			st := r.Metrics[m]
			flagged := false
			for _, f := range r.MetricFlags {
				if f == m || f == n+"."+m {
					flagged = true
				}
			}
			mrows = append(mrows, ForestRow{Label: n + "." + m, Group: n, Est: st.Estimate, Lo: st.CILow, Hi: st.CIHigh, Flagged: flagged,
				Detail: fmt.Sprintf("n=%d, %s", st.N, st.Test), FlagName: "FAIL (rule broken)", UnflaggedName: "not gated or pass"})
		}
	}
	if len(rows) > 0 {
		s.chart(Forest(ForestSpec{Title: "Failure-mode probes", XLabel: "estimate (rate or difference of rates; 95% CI)", Rows: rows, Ref: ptr(0), RefLabel: "no effect",
			Note: "Each probe measures one failure mode (a flip rate, an accuracy gap, a drop); an interval that lies wholly past the threshold is strong evidence of the failure, one that straddles it says more samples are needed."}))
	}
	if len(mrows) > 0 {
		s.chart(Forest(ForestSpec{Title: "Further metrics of each probe", XLabel: "estimate (95% CI)", Rows: mrows,
			Note: "The breakdowns behind each probe's headline number (for example accuracy before and after pushback); a policy may gate on these too."}))
	}
	s.table(tbl)
	for _, e := range sum.Errors {
		s.text("error: " + e)
	}
	p.Sections = append(p.Sections, s)
	var details [][]string
	for _, n := range names {
		r := sum.Probes[n]
		for _, k := range []string{"estimand", "explanation", "top_driver", "worst_slice", "direction"} {
			if v, ok := r.Details[k]; ok {
				details = append(details, []string{n, k, fmt.Sprint(v)})
			}
		}
	}
	if len(details) > 0 {
		p.Sections = append(p.Sections, &Section{ID: "details", Title: "What each probe measured",
			Blocks: []Block{{Table: &Table{Columns: []string{"probe", "field", "value"}, Rows: details}}}})
	}
	return nil
}

func sortedStatKeys(m map[string]audit.Stat) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
