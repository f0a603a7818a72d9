//go:build race

package train

// raceEnabled shortens the slow tests under the race detector.
const raceEnabled = true
