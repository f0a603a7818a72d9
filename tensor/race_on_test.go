//go:build race

package tensor

// raceEnabled trims the larger test tables under the race detector, which
// slows the instrumented Go loops tenfold; the threaded paths still run.
const raceEnabled = true
