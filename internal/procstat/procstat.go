// Package procstat reads the current process's resource use (CPU time and
// peak resident memory) for the benchmarks, which report both beside wall
// time: on a shared machine CPU time is steadier, and memory targets are
// stated as peak RSS.
package procstat

import (
	"bytes"
	"os"
	"strconv"
)

// PeakRSSMB returns the process's resident-set high-water mark in MiB:
// VmHWM on Linux, which ResetPeakRSS can restart, else the rusage maximum;
// 0 where neither is available.
func PeakRSSMB() float64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range bytes.Split(b, []byte("\n")) {
			rest, ok := bytes.CutPrefix(l, []byte("VmHWM:"))
			if fs := bytes.Fields(rest); ok && len(fs) > 0 {
				if kb, err := strconv.ParseFloat(string(fs[0]), 64); err == nil {
					return kb / 1024
				}
			}
		}
	}
	return rusagePeakMB()
}

// ResetPeakRSS restarts the high-water mark that PeakRSSMB reads, so a
// benchmark can measure one phase alone. Writing 5 to clear_refs does this
// on Linux >= 4.0; elsewhere it does nothing and the peak is the process's
// so far.
func ResetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
