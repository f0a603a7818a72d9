package enginebench

import "testing"

// TestQuickRun checks that every figure of the quick benchmark is measured:
// a zero or missing figure would make the JSON silently useless.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmark run skipped under -short")
	}
	r, err := Run(Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]float64{
		"train_step_ms": r.TrainStepMS, "train_gflops": r.TrainGFLOPS, "peak_rss_mb": r.PeakRSSMB,
		"fma_peak_gflops": r.FMAPeakGFLOPS, "sgemm_gflops": r.SgemmGFLOPS,
		"gen_tok_s_15m": r.GenTokS15M, "gen_batch16_tok_s_15m": r.GenBatch16TokS15M,
	} {
		if !(v > 0) {
			t.Errorf("%s = %v, want a positive measurement", name, v)
		}
	}
	if r.GenRounds != len(r.GenTokS15MRuns) || r.GenRounds != len(r.GenBatch16TokS15MRuns) {
		t.Errorf("%d rounds but %d single-stream and %d batch-16 runs", r.GenRounds, len(r.GenTokS15MRuns), len(r.GenBatch16TokS15MRuns))
	}
	if len(r.FMAPeakRuns) == 0 || len(r.FMAPeakRuns) != len(r.SgemmRuns) {
		t.Errorf("%d peak rounds and %d sgemm rounds", len(r.FMAPeakRuns), len(r.SgemmRuns))
	}
	if f := r.SgemmPeakFraction; !(f > 0 && f < 1.5) {
		t.Errorf("sgemm_peak_fraction = %v, want a fraction of the peak", f)
	}
	if r.Kernel == "" {
		t.Error("kernel name is empty")
	}
	for name, c := range map[string]struct {
		median float64
		iv     Interval
		rounds int
	}{
		"sgemm_peak_fraction": {r.SgemmPeakFraction, r.SgemmPeakFractionCI, len(r.FMAPeakRuns)},
		"gen_tok_s_15m":       {r.GenTokS15M, r.GenTokS15MCI, r.GenRounds},
		"gen_batch16_speedup": {r.GenBatch16Speedup, r.GenBatch16SpeedupCI, r.GenRounds},
	} {
		if c.iv.Rounds != c.rounds || !(c.iv.Lo <= c.median && c.median <= c.iv.Hi) {
			t.Errorf("%s: interval %+v does not bracket the median %v of %d rounds", name, c.iv, c.median, c.rounds)
		}
	}
}

// TestMedian checks the median the generation figures report, for odd and
// even counts, and that it leaves the runs in their measured order.
func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := append([]float64(nil), c.xs...)
		if got := median(in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
		for i := range in {
			if in[i] != c.xs[i] {
				t.Fatalf("median reordered its input: %v", in)
			}
		}
	}
}
