package procstat

import (
	"runtime"
	"testing"
)

// TestMeasures checks that both figures move the way a benchmark relies on:
// CPU time grows with work, and the peak covers a buffer the test touched.
func TestMeasures(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("figures are only guaranteed on Linux")
	}
	c0 := CPUTime()
	x := 0.0
	for i := 0; i < 50_000_000; i++ {
		x += float64(i)
	}
	if CPUTime() <= c0 || x == 0 {
		t.Errorf("CPU time did not grow: %v -> %v", c0, CPUTime())
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	if p := PeakRSSMB(); p < 64 {
		t.Errorf("peak RSS %.1f MiB after touching 64 MiB", p)
	}
	runtime.KeepAlive(buf)
}
