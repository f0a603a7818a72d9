//go:build unix

package model_test

import "syscall"

// peakRSSMB returns the process's peak resident set size in MiB.
func peakRSSMB() (float64, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return float64(ru.Maxrss) / 1024, true // Maxrss is in KiB on Linux
}

// cpuSeconds returns the process's user + system CPU time so far; on a
// shared machine CPU time per step is steadier than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
