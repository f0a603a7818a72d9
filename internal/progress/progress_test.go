package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock returns a clock that advances by step on every read.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(step); return t }
}

func TestLine(t *testing.T) {
	tests := []struct {
		name        string
		done, total int
		elapsed     time.Duration
		want        string
	}{
		{"nothing done", 0, 300, 0, "audit: C"},
		{"rate and eta", 120, 300, 5 * time.Second, "audit: C · 24.0 samples/s · ETA 7.5s"},
		{"finished has no eta", 300, 300, 10 * time.Second, "audit: C · 30.0 samples/s"},
		{"slow rate per minute", 2, 10, 4 * time.Second, "audit: C · 30.0 samples/min · ETA 16s"},
		{"unknown total", 5, 0, time.Second, "audit: C · 5.0 samples/s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Line("audit", "C", tc.done, tc.total, tc.elapsed, "samples"); got != tc.want {
				t.Errorf("Line = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestModes(t *testing.T) {
	run := func(mode Mode) string {
		var buf bytes.Buffer
		b := New(&buf, mode, "audit", "samples", 4)
		b.now = fakeClock(time.Second)
		b.start = b.now()
		for i := 1; i <= 4; i++ {
			b.Set(i, 0, "")
		}
		b.Notef("stage %d", 2)
		b.Done()
		b.Done() // a second Done prints nothing more
		return buf.String()
	}
	if got := run(Quiet); got != "" {
		t.Errorf("quiet printed %q", got)
	}
	plain := run(Plain)
	if strings.Contains(plain, "\r") {
		t.Errorf("plain output redraws: %q", plain)
	}
	lines := strings.Split(strings.TrimSpace(plain), "\n")
	if len(lines) != 2 || lines[0] != "stage 2" || !strings.HasPrefix(lines[1], "audit: 4/4 samples in ") {
		t.Errorf("plain output %q: want the note and one final line", plain)
	}
	live := run(Live)
	if strings.Count(live, "\r") < 4 || !strings.Contains(live, "audit: 1/4 samples · 1.0 samples/s · ETA 3s") {
		t.Errorf("live output lacks redrawn lines with rate and ETA: %q", live)
	}
	if !strings.HasSuffix(live, "\n") || !strings.Contains(live, "stage 2\n") {
		t.Errorf("live output does not end its line or print the note: %q", live)
	}
}

func TestLiveThrottles(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, Live, "x", "", 1000)
	b.now = fakeClock(time.Millisecond)
	b.start = b.now()
	for i := 1; i < 1000; i++ {
		b.Set(i, 0, "")
	}
	if n := strings.Count(buf.String(), "\r"); n > 10 {
		t.Errorf("%d redraws in 1 s of fake time; want at most 5 per second", n)
	}
}

func TestNilAndLines(t *testing.T) {
	var b *Bar
	b.Set(1, 2, "")
	b.Add(1)
	b.Notef("x")
	b.Done()
	if Lines(&bytes.Buffer{}, Quiet, "") != nil {
		t.Error("Lines in quiet mode is not nil")
	}
	var buf bytes.Buffer
	New(&buf, Plain, "x", "", 0).Status("periodic")
	if buf.Len() != 0 {
		t.Errorf("Status in plain mode printed %q", buf.String())
	}
	live := New(&buf, Live, "x", "", 0)
	live.Status("read a.jsonl: 100000 lines")
	live.Done()
	if buf.String() != "\r"+"read a.jsonl: 100000 lines\x1b[K\r\x1b[K" {
		t.Errorf("Status in live mode: %q", buf.String())
	}
	buf.Reset()
	Lines(&buf, Plain, "lab: ")("stage")
	if buf.String() != "lab: stage\n" {
		t.Errorf("Lines printed %q", buf.String())
	}
	if ModeOf(&buf, false) != Plain || ModeOf(&buf, true) != Quiet {
		t.Error("a buffer is not a terminal: want Plain, or Quiet with quiet")
	}
}
