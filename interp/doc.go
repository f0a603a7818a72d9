// Package interp looks inside a model: it caches activations at the hook
// points of package model (TransformerLens's names), applies the logit
// lens, attributes logits to layers and heads, and patches activations
// from a clean run into a corrupted one. Subpackages hold the rest of the
// toolkit: probe (linear probes and contrast directions), steer (adding or
// projecting out a direction during generation), sae (sparse
// autoencoders) and mirage (finding an alignment mirage from the inside).
//
// Results that are naturally a grid (patching, attribution) are returned
// as a Matrix, which package report draws as a heatmap.
package interp
