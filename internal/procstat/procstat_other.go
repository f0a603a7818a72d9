//go:build !unix

package procstat

import "time"

// CPUTime is not measured on this platform; it returns 0.
func CPUTime() time.Duration { return 0 }

func rusagePeakMB() float64 { return 0 }
