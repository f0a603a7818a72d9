// Package mirage looks for an alignment mirage from the inside: on a lab
// policy it reads the prompt's frame (evaluation- or deployment-styled)
// from the residual stream with a linear probe per layer, takes the
// difference-of-means frame direction at each layer, projects those
// directions out of the residual stream during generation, and measures
// the behavioural gap between frames (lab.DetectMirage's paired measure,
// on held-out prompts) before and after, beside a random-direction control.
package mirage
