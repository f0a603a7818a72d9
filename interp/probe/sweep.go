package probe

import (
	"fmt"

	"github.com/alignlab/alignlab/audit"
)

// LayerResult is one hook's cross-validated probe.
type LayerResult struct {
	Layer    int        `json:"layer"`
	Hook     string     `json:"hook"`
	Accuracy audit.Stat `json:"accuracy"`
	AUROC    audit.Stat `json:"auroc"`
}

// Sweep cross-validates a probe on each hook's [n, widths[h]] matrix with
// labels y and returns the results in hook order and the index of the one
// with the highest AUROC (the first on ties). layers names each hook's
// layer for the table.
func Sweep(acts [][]float32, widths []int, hooks []string, layers []int, y []int, cfg CVConfig) ([]LayerResult, int, error) {
	if len(acts) != len(hooks) || len(widths) != len(hooks) || len(layers) != len(hooks) {
		return nil, 0, fmt.Errorf("probe sweep: %d matrices, %d widths, %d layers for %d hooks", len(acts), len(widths), len(layers), len(hooks))
	}
	out := make([]LayerResult, len(hooks))
	best := -1
	for h := range hooks {
		cv, err := CrossValidate(acts[h], len(y), widths[h], y, cfg)
		if err != nil {
			return nil, 0, fmt.Errorf("probe at %s: %w", hooks[h], err)
		}
		out[h] = LayerResult{Layer: layers[h], Hook: hooks[h], Accuracy: cv.Accuracy, AUROC: cv.AUROC}
		if best < 0 || cv.AUROC.Estimate > out[best].AUROC.Estimate {
			best = h
		}
	}
	return out, best, nil
}
