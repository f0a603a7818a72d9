// Package audit probes a model (any target.Target) for alignment failure
// modes: sycophancy, alignment mirages, rare-event blindness, reward
// hacking and optimization overhang. Each probe reports an estimate with
// a 95% confidence interval, the test behind it and its sample size, and a
// policy turns the reports into a pass/fail gate.
//
// The shape follows inspect_ai: a Dataset says what is asked (samples),
// a Solver how it is asked (one turn, a pushback turn, many samples), and a
// Scorer how the answer is judged. A probe is a combination of the three
// plus the statistics over its results. The Runner executes a probe's tasks
// concurrently, records each finished sample in the store, and on a rerun
// skips what is already there, so an interrupted audit resumes.
package audit
