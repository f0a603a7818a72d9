// Package lab is alignlab's embedded experiment: a closed world of questions
// whose right answers are always known, a tiny base model trained on it,
// simulated annotators who label the model's own responses, and model
// organisms that each plant one of the six documented alignment failure
// modes (reward hacking, sycophancy, annotator drift, alignment mirage,
// rare-event blindness, optimization overhang). Running every detector on
// every organism gives a validity matrix; DPO and RLHF trained on the same
// preference data are compared on gold reward against KL to the reference;
// and every trained policy is placed on the alignment trilemma's three axes.
//
// The world (world*.go) is the ground truth: items with one verifiable
// answer, rendered into prompts with a domain, a stated user belief
// (none/right/wrong), a frame (evaluation- or deployment-styled), a rarity
// (common or rare variant) and a number of turns (single, or a pushback
// turn). Gold reward (gold.go) is computed exactly from the item.
package lab
