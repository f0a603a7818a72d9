// Package probe fits linear probes and contrast directions on cached
// activations: an L2-regularised logistic regression on standardised
// features, trained by a deterministic full-batch solver (L-BFGS); k-fold
// stratified, seeded cross-validation with accuracy and AUROC (DeLong
// interval); and difference-of-means directions between two contrast sets,
// returned as interp.Direction for steering or ablation.
//
// Activations are a row-major [n, d] float32 matrix with one 0/1 label per
// row, as interp's cache or a hook callback collects them.
package probe
