package enginebench

import (
	"os"
	"sort"
	"strconv"
	"testing"
)

// TestGenRatio measures the batch-16 over single-stream generation speed-up
// on the stories15M shape, alternating the two several times in one process
// so that load from other work on a shared machine hits both alike. It runs
// only when ALIGNLAB_GEN_RATIO is set (to the number of rounds):
//
//	ALIGNLAB_GEN_RATIO=5 go test ./internal/enginebench/ -run GenRatio -v
func TestGenRatio(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("ALIGNLAB_GEN_RATIO"))
	if rounds <= 0 {
		t.Skip("set ALIGNLAB_GEN_RATIO=<rounds> to measure")
	}
	cfg := storiesConfig(288, 6, 6, 768, 256)
	var ratios []float64
	for i := 0; i < rounds; i++ {
		one, err := generate(cfg, 1, 255)
		if err != nil {
			t.Fatal(err)
		}
		b16, err := generate(cfg, 16, 255)
		if err != nil {
			t.Fatal(err)
		}
		ratios = append(ratios, b16/one)
		t.Logf("round %d: single %.0f tok/s, batch16 %.0f tok/s, ratio %.2f", i, one, b16, b16/one)
	}
	sort.Float64s(ratios)
	t.Logf("ratio min %.2f median %.2f max %.2f", ratios[0], ratios[len(ratios)/2], ratios[len(ratios)-1])
}
