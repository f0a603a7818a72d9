package prefs

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func writeSynthFile(t testing.TB, cfg SynthConfig) (string, SynthTruth) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "synth.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := WriteSynth(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, truth
}

// TestAuditRecoversPlantedAnnotators is the acceptance test:
// precision and recall of flagged annotators >= 0.9, each drift within 5%
// of the time span, planted problems found.
func TestAuditRecoversPlantedAnnotators(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		cfg := SynthConfig{Seed: seed, Items: 6000, LabelsPerItem: 5, Duplicates: 40, Contradictions: 15, Cycles: 5,
			Annotators: map[string]int{KindHonest: 24, KindSycophantic: 3, KindLengthBiased: 3,
				KindPositionBiased: 3, KindDrifting: 3, KindSpammer: 3}}
		path, truth := writeSynthFile(t, cfg)
		au, err := Run(context.Background(), []string{path}, Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		rep := au.Report
		if rep.Rows != truth.Rows || len(rep.Invalid) != 0 {
			t.Fatalf("seed %d: rows %d invalid %d, want %d and 0", seed, rep.Rows, len(rep.Invalid), truth.Rows)
		}
		// Per (annotator, flag) pair: the flag words must match the kind.
		var tp, fp, fn int
		span := truth.End.Sub(truth.Start).Seconds()
		for _, a := range rep.Annotators {
			want := truth.Flags[a.ID]
			for _, f := range a.Flags {
				if slices.Contains(want, f) {
					tp++
				} else {
					fp++
					t.Logf("seed %d: %s (%s) falsely flagged %s: %+v", seed, a.ID, truth.Kinds[a.ID], f, a)
				}
			}
			for _, f := range want {
				if !slices.Contains(a.Flags, f) {
					fn++
					t.Logf("seed %d: %s missed %s: %+v", seed, a.ID, f, a)
				}
			}
			if dt, ok := truth.DriftTime[a.ID]; ok && a.Drift.Detected {
				err := math.Abs(a.Drift.ChangeTime-float64(dt.Unix())) / span
				t.Logf("seed %d: %s drift at %s, planted %s, error %.2f%% of span", seed, a.ID, a.Drift.ChangeTimeText, dt.Format(time.RFC3339), 100*err)
				if err > 0.05 {
					t.Errorf("seed %d: %s drift located %.1f%% of the span away", seed, a.ID, 100*err)
				}
			}
		}
		prec, rec := float64(tp)/float64(tp+fp), float64(tp)/float64(tp+fn)
		t.Logf("seed %d: precision %.3f recall %.3f (tp %d fp %d fn %d)", seed, prec, rec, tp, fp, fn)
		if prec < 0.9 || rec < 0.9 {
			t.Errorf("seed %d: precision %.3f recall %.3f, want >= 0.9", seed, prec, rec)
		}
		if got := rep.Counts.DuplicatesExact + rep.Counts.DuplicatesNormalized; got < truth.Duplicates {
			t.Errorf("seed %d: %d duplicates found, %d planted", seed, got, truth.Duplicates)
		}
		if rep.Counts.Contradictions < truth.Contradictions {
			t.Errorf("seed %d: %d contradictions found, %d planted", seed, rep.Counts.Contradictions, truth.Contradictions)
		}
		if rep.Counts.Cycles != truth.Cycles {
			t.Errorf("seed %d: %d cycles found, %d planted", seed, rep.Counts.Cycles, truth.Cycles)
		}
	}
}
