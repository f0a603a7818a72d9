package prefs

import (
	"context"
	"testing"
)

// BenchmarkAudit audits 100k generated comparisons (alignlab bench data
// runs the 1M-row version against a bare parse).
func BenchmarkAudit(b *testing.B) {
	path, _ := writeSynthFile(b, SynthConfig{Seed: 1, Items: 20000, LabelsPerItem: 5,
		Annotators: map[string]int{KindHonest: 40, KindSycophantic: 4, KindLengthBiased: 4,
			KindPositionBiased: 4, KindDrifting: 4, KindSpammer: 4}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Run(context.Background(), []string{path}, Options{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareParse is the baseline of BenchmarkAudit.
func BenchmarkBareParse(b *testing.B) {
	path, _ := writeSynthFile(b, SynthConfig{Seed: 1, Items: 20000, LabelsPerItem: 5,
		Annotators: map[string]int{KindHonest: 40, KindSycophantic: 4, KindLengthBiased: 4,
			KindPositionBiased: 4, KindDrifting: 4, KindSpammer: 4}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := bareParse(path); err != nil {
			b.Fatal(err)
		}
	}
}
