//go:build !unix

package tensor

import "time"

// processCPU is unavailable here; CPU-time metrics are then left out.
func processCPU() time.Duration { return 0 }
