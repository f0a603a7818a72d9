package enginebench

import (
	"os"
	"sort"
	"strconv"
	"testing"
)

// TestGenRatio measures the batch-16 over single-stream generation speed-up
// on the stories15M shape (with the benchmark's KV cache, genHalfKV),
// alternating the two several times in one process so that load from
// other work on a shared machine hits both alike. It prints each round's
// tokens per second and the ratio's min/median/max, both per wall second
// and per CPU second (the latter unmoved by other processes taking the
// cores). It runs only when ALIGNLAB_GEN_RATIO is set (to the number of
// rounds):
//
//	ALIGNLAB_GEN_RATIO=5 go test ./internal/enginebench/ -run GenRatio -v
func TestGenRatio(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("ALIGNLAB_GEN_RATIO"))
	if rounds <= 0 {
		t.Skip("set ALIGNLAB_GEN_RATIO=<rounds> to measure")
	}
	cfg := storiesConfig(288, 6, 6, 768, 256)
	var ratios, cpuRatios []float64
	for i := 0; i < rounds; i++ {
		one, err := generate(cfg, 1, 255, genHalfKV)
		if err != nil {
			t.Fatal(err)
		}
		b16, err := generate(cfg, 16, 255, genHalfKV)
		if err != nil {
			t.Fatal(err)
		}
		ratios = append(ratios, b16.TokS/one.TokS)
		cpuRatios = append(cpuRatios, one.CPUPerTok/b16.CPUPerTok)
		t.Logf("round %d: single %.0f tok/s (%.0f us CPU/tok), batch16 %.0f tok/s (%.0f us CPU/tok), ratio %.2f, per CPU second %.2f",
			i, one.TokS, one.CPUPerTok*1e6, b16.TokS, b16.CPUPerTok*1e6, b16.TokS/one.TokS, one.CPUPerTok/b16.CPUPerTok)
	}
	sort.Float64s(ratios)
	sort.Float64s(cpuRatios)
	n := len(ratios)
	t.Logf("ratio min %.2f median %.2f max %.2f; per CPU second min %.2f median %.2f max %.2f (kv cache fp16: %v)",
		ratios[0], ratios[n/2], ratios[n-1], cpuRatios[0], cpuRatios[n/2], cpuRatios[n-1], genHalfKV)
}
