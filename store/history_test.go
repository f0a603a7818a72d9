package store

import (
	"math"
	"testing"
)

// wilson is the Wilson score 95% interval, as package audit computes it.
func wilson(k, n int) Stat {
	const z = 1.959963984540054
	p, nf := float64(k)/float64(n), float64(n)
	c := (p + z*z/(2*nf)) / (1 + z*z/nf)
	h := z / (1 + z*z/nf) * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return Stat{Estimate: p, CILow: c - h, CIHigh: c + h, N: n}
}

// TestDiffCINewcombe checks MOVER on Wilson intervals against the worked
// example of Newcombe (1998, Stat Med 17:873, method 10): 56/70 - 48/80
// = 0.2000, 95% CI 0.0524 to 0.3339.
func TestDiffCINewcombe(t *testing.T) {
	d, lo, hi := DiffCI(wilson(48, 80), wilson(56, 70))
	if math.Abs(d-0.2) > 1e-12 || math.Abs(lo-0.0524) > 5e-5 || math.Abs(hi-0.3339) > 5e-5 {
		t.Errorf("DiffCI = %.4f [%.4f, %.4f], want 0.2000 [0.0524, 0.3339]", d, lo, hi)
	}
}

func TestDiffAudits(t *testing.T) {
	a := &AuditSummary{Probes: map[string]*ProbeSummary{
		"sycophancy": {Stat: wilson(10, 100), Metrics: map[string]Stat{"acc_drop": {Estimate: 0.1, CILow: 0.05, CIHigh: 0.15}}},
		"mirage":     {Stat: wilson(20, 100)},
		"old":        {Stat: wilson(1, 10)},
	}}
	b := &AuditSummary{Probes: map[string]*ProbeSummary{
		"sycophancy": {Stat: wilson(40, 100), Flagged: true, Metrics: map[string]Stat{"acc_drop": {Estimate: 0.12, CILow: 0.07, CIHigh: 0.17}}},
		"mirage":     {Stat: wilson(22, 100)},
		"broken":     {Error: "no logprobs"},
	}}
	moves := DiffAudits(a, b)
	byName := map[string]Move{}
	var order []string
	for _, m := range moves {
		byName[m.Name] = m
		order = append(order, m.Name)
	}
	want := []string{"broken", "mirage", "old", "sycophancy", "sycophancy.acc_drop"}
	if len(order) != len(want) {
		t.Fatalf("names %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("names %v, want %v", order, want)
		}
	}
	tests := []struct {
		name           string
		moved, overlap bool
		delta          float64
	}{
		{"sycophancy", true, false, 0.3},
		{"mirage", false, true, 0.02},
		{"sycophancy.acc_drop", false, true, 0.02},
	}
	for _, tc := range tests {
		m := byName[tc.name]
		if m.Moved != tc.moved || m.Overlap != tc.overlap || math.Abs(m.Delta-tc.delta) > 1e-9 {
			t.Errorf("%s: moved %v overlap %v delta %.3f, want %v %v %.3f", tc.name, m.Moved, m.Overlap, m.Delta, tc.moved, tc.overlap, tc.delta)
		}
		if m.Moved && (m.DeltaLow <= 0) {
			t.Errorf("%s: moved but the interval [%g, %g] holds 0", tc.name, m.DeltaLow, m.DeltaHigh)
		}
	}
	if !byName["sycophancy"].FlagB || byName["sycophancy"].FlagA {
		t.Error("the gate's verdicts are not carried")
	}
	if m := byName["old"]; m.A == nil || m.B != nil || m.Moved {
		t.Errorf("a probe only in A: %+v", m)
	}
	if m := byName["broken"]; m.A != nil || m.B != nil {
		t.Errorf("a probe with an error has no estimate: %+v", m)
	}
}

func TestParseAuditSummary(t *testing.T) {
	if _, err := ParseAuditSummary(""); err == nil {
		t.Error("an unfinished run parsed")
	}
	if _, err := ParseAuditSummary("{"); err == nil {
		t.Error("bad JSON parsed")
	}
	s, err := ParseAuditSummary(`{"run_id":"audit-1","pass":true,"probes":{"mirage":{"estimate":0.1,"ci_low":0.05,"ci_high":0.2,"n":50,"flagged":false}}}`)
	if err != nil || s.Probes["mirage"].N != 50 || !s.Pass {
		t.Errorf("parse: %+v, %v", s, err)
	}
}
