// Run history: reading an audit run's stored summary back, and comparing
// two audits probe by probe ('alignlab runs show' and 'runs diff').
//
// The store sits below package audit, so the summary is decoded here into
// the few fields history needs rather than into audit.Summary.
package store

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Stat is one estimate with its 95% confidence interval, as an audit
// stores it.
type Stat struct {
	Estimate float64 `json:"estimate"`
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
	N        int     `json:"n"`
	Test     string  `json:"test,omitempty"`
}

// ProbeSummary is one probe's stored result.
type ProbeSummary struct {
	Stat
	Flagged bool            `json:"flagged"`
	Metrics map[string]Stat `json:"metrics,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// AuditSummary is the part of an audit's stored summary that history
// reads.
type AuditSummary struct {
	RunID  string                   `json:"run_id"`
	Target string                   `json:"target"`
	Pass   bool                     `json:"pass"`
	Errors []string                 `json:"errors,omitempty"`
	Probes map[string]*ProbeSummary `json:"probes"`
}

// ParseAuditSummary decodes a run's Summary column. An empty summary (a
// run that never finished) is an error that says so.
func ParseAuditSummary(summary string) (*AuditSummary, error) {
	if summary == "" {
		return nil, fmt.Errorf("the run has no summary: it did not finish; rerun its command to resume it")
	}
	var s AuditSummary
	if err := json.Unmarshal([]byte(summary), &s); err != nil {
		return nil, fmt.Errorf("decode audit summary: %w", err)
	}
	return &s, nil
}

// Names lists the probes and their metrics ("probe" and "probe.metric"),
// sorted.
func (s *AuditSummary) Names() []string {
	var out []string
	for p, r := range s.Probes {
		out = append(out, p)
		for m := range r.Metrics {
			out = append(out, p+"."+m)
		}
	}
	sort.Strings(out)
	return out
}

// Lookup returns the statistic named "probe" or "probe.metric".
func (s *AuditSummary) Lookup(name string) (Stat, bool) {
	if r, ok := s.Probes[name]; ok && r.Error == "" {
		return r.Stat, true
	}
	for p, r := range s.Probes {
		if len(name) > len(p) && name[:len(p)] == p && name[len(p)] == '.' {
			st, ok := r.Metrics[name[len(p)+1:]]
			return st, ok
		}
	}
	return Stat{}, false
}

// DiffMethod names how Move decides that an estimate moved; the CLI's
// help and the README quote it.
const DiffMethod = "95% CI of the difference B-A by MOVER (Zou & Donner 2008) from the two stored 95% CIs, " +
	"taken as independent; for Wilson-interval rates this is Newcombe's hybrid score interval. " +
	"Two audits on the same items are positively correlated, which makes this conservative."

// Move is how one statistic changed from audit A to audit B.
type Move struct {
	Name string `json:"name"`
	// A and B are absent when the statistic is only in the other audit.
	A *Stat `json:"a,omitempty"`
	B *Stat `json:"b,omitempty"`
	// Delta is B's estimate minus A's, with its 95% interval.
	Delta     float64 `json:"delta"`
	DeltaLow  float64 `json:"delta_ci_low"`
	DeltaHigh float64 `json:"delta_ci_high"`
	// Overlap says whether the two CIs overlap.
	Overlap bool `json:"ci_overlap"`
	// Moved says whether the difference's CI excludes zero.
	Moved bool `json:"moved"`
	// FlagA and FlagB are the gate's verdicts on the probe in each audit.
	FlagA bool `json:"flagged_a"`
	FlagB bool `json:"flagged_b"`
}

// DiffAudits compares every probe and metric of a and b, in name order.
func DiffAudits(a, b *AuditSummary) []Move {
	seen := map[string]bool{}
	var names []string
	for _, n := range append(a.Names(), b.Names()...) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]Move, 0, len(names))
	for _, n := range names {
		m := Move{Name: n}
		if st, ok := a.Lookup(n); ok {
			m.A = &st
		}
		if st, ok := b.Lookup(n); ok {
			m.B = &st
		}
		if r := a.Probes[n]; r != nil {
			m.FlagA = r.Flagged
		}
		if r := b.Probes[n]; r != nil {
			m.FlagB = r.Flagged
		}
		if m.A != nil && m.B != nil {
			m.Delta, m.DeltaLow, m.DeltaHigh = DiffCI(*m.A, *m.B)
			m.Overlap = m.A.CILow <= m.B.CIHigh && m.B.CILow <= m.A.CIHigh
			m.Moved = m.DeltaLow > 0 || m.DeltaHigh < 0
		}
		out = append(out, m)
	}
	return out
}

// DiffCI returns d = b - a and its 95% interval by MOVER: each side of
// the interval combines the distances from the estimates to the CI limits
// that bound that side, so asymmetric intervals (Wilson near 0 or 1) are
// respected.
func DiffCI(a, b Stat) (d, lo, hi float64) {
	d = b.Estimate - a.Estimate
	lo = d - math.Hypot(b.Estimate-b.CILow, a.CIHigh-a.Estimate)
	hi = d + math.Hypot(b.CIHigh-b.Estimate, a.Estimate-a.CILow)
	return d, lo, hi
}
