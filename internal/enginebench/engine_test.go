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
	if r.Kernel == "" {
		t.Error("kernel name is empty")
	}
}
