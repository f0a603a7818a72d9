package rundir

// Reading a lab run's summary.json back, and comparing two lab runs: the
// validity matrix cell by cell and the trilemma scores policy by policy.
// Decoded here into the fields history needs, so that this package stays
// below package lab.

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/alignlab/alignlab/internal/textfile"
)

// LabSummaryFile is the lab's result file inside its run directory.
const LabSummaryFile = "summary.json"

// LabCell is one detector on one organism over the seeds.
type LabCell struct {
	Flagged      bool    `json:"flagged"`
	FlaggedSeeds int     `json:"flagged_seeds"`
	Seeds        int     `json:"seeds"`
	Estimate     float64 `json:"estimate"`
	CILow        float64 `json:"ci_low"`
	CIHigh       float64 `json:"ci_high"`
}

// Trilemma is one policy's three scores.
type Trilemma struct {
	Optimization   float64 `json:"optimization"`
	ValueCapture   float64 `json:"value_capture"`
	Generalization float64 `json:"generalization"`
	N              int     `json:"n"`
}

// LabSummary is the part of a lab run's summary.json that history reads.
type LabSummary struct {
	ID            string                        `json:"id"`
	Seed          uint64                        `json:"seed"`
	Seeds         int                           `json:"seeds"`
	Quick         bool                          `json:"quick"`
	Validity      map[string]map[string]LabCell `json:"validity"`
	ValidityCheck struct {
		Pass        bool     `json:"pass"`
		OffDiagonal []string `json:"off_diagonal_flags"`
	} `json:"validity_check"`
	Trilemma map[string]Trilemma `json:"trilemma"`
	Seconds  float64             `json:"seconds"`
}

// ReadLabSummary reads dir/summary.json.
func ReadLabSummary(dir string) (*LabSummary, error) {
	data, err := textfile.ReadFile(filepath.Join(dir, LabSummaryFile))
	if err != nil {
		return nil, fmt.Errorf("read lab run %s: %w (a run without summary.json did not finish)", dir, err)
	}
	var s LabSummary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read lab run %s: %s: %w", dir, LabSummaryFile, err)
	}
	return &s, nil
}

// CellChange is one validity-matrix cell in two lab runs.
type CellChange struct {
	Detector string   `json:"detector"`
	Organism string   `json:"organism"`
	A        *LabCell `json:"a,omitempty"`
	B        *LabCell `json:"b,omitempty"`
	// Delta is B's estimate minus A's (0 when either is missing).
	Delta float64 `json:"delta"`
	// FlagChanged says the detector fires in one run and not the other.
	FlagChanged bool `json:"flag_changed"`
	// Separate says the two cells' CIs do not overlap.
	Separate bool `json:"ci_separate"`
}

// TrilemmaChange is one policy's trilemma scores in two lab runs.
type TrilemmaChange struct {
	Policy string    `json:"policy"`
	A      *Trilemma `json:"a,omitempty"`
	B      *Trilemma `json:"b,omitempty"`
	// Delta is B minus A on the three axes: optimization, value capture,
	// generalization.
	Delta [3]float64 `json:"delta"`
}

// LabDiff is what changed between two lab runs.
type LabDiff struct {
	ValidityA bool             `json:"validity_pass_a"`
	ValidityB bool             `json:"validity_pass_b"`
	Cells     []CellChange     `json:"cells"`
	Trilemma  []TrilemmaChange `json:"trilemma"`
}

// DiffLab compares every validity cell and trilemma policy of a and b,
// sorted by name.
func DiffLab(a, b *LabSummary) LabDiff {
	d := LabDiff{ValidityA: a.ValidityCheck.Pass, ValidityB: b.ValidityCheck.Pass}
	type key struct{ det, org string }
	seen := map[key]bool{}
	var keys []key
	for _, s := range []*LabSummary{a, b} {
		for det, row := range s.Validity {
			for org := range row {
				if k := (key{det, org}); !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].det != keys[j].det {
			return keys[i].det < keys[j].det
		}
		return keys[i].org < keys[j].org
	})
	cell := func(s *LabSummary, k key) *LabCell {
		if c, ok := s.Validity[k.det][k.org]; ok {
			return &c
		}
		return nil
	}
	for _, k := range keys {
		c := CellChange{Detector: k.det, Organism: k.org, A: cell(a, k), B: cell(b, k)}
		if c.A != nil && c.B != nil {
			c.Delta = c.B.Estimate - c.A.Estimate
			c.FlagChanged = c.A.Flagged != c.B.Flagged
			c.Separate = c.A.CIHigh < c.B.CILow || c.B.CIHigh < c.A.CILow
		} else {
			c.FlagChanged = (c.A != nil && c.A.Flagged) || (c.B != nil && c.B.Flagged)
		}
		d.Cells = append(d.Cells, c)
	}
	var policies []string
	seenP := map[string]bool{}
	for _, s := range []*LabSummary{a, b} {
		for p := range s.Trilemma {
			if !seenP[p] {
				seenP[p] = true
				policies = append(policies, p)
			}
		}
	}
	sort.Strings(policies)
	for _, p := range policies {
		t := TrilemmaChange{Policy: p}
		if x, ok := a.Trilemma[p]; ok {
			t.A = &x
		}
		if x, ok := b.Trilemma[p]; ok {
			t.B = &x
		}
		if t.A != nil && t.B != nil {
			t.Delta = [3]float64{t.B.Optimization - t.A.Optimization, t.B.ValueCapture - t.A.ValueCapture, t.B.Generalization - t.A.Generalization}
		}
		d.Trilemma = append(d.Trilemma, t)
	}
	return d
}
