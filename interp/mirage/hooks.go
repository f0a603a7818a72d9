package mirage

import (
	"strconv"

	"github.com/alignlab/alignlab/interp/probe"
)

// Position re-exports probe's positions: which prompt positions the cached
// rows summarise.
type Position = probe.Position

// Positions.
const (
	PosLast = probe.PosLast
	PosMean = probe.PosMean
)

// ResidHooks returns the residual-stream hook points of a model with
// layers blocks: blocks.0.hook_resid_pre (the embeddings), then each
// block's hook_resid_post. Index i is "layer i" in this package's tables.
func ResidHooks(layers int) []string {
	out := []string{"blocks.0.hook_resid_pre"}
	for l := 0; l < layers; l++ {
		out = append(out, "blocks."+strconv.Itoa(l)+".hook_resid_post")
	}
	return out
}
