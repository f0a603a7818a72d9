//go:build race

package prefs

// raceEnabled shrinks the large statistical tests under -race, where they
// run 10x slower and check the same concurrency at any size.
const raceEnabled = true
