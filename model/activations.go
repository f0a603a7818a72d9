package model

// activations holds the training forward pass's saved state (owned by the
// forward/backward code; filled in by the model helper).
type activations struct{}
