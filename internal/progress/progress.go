// Package progress draws the status line of a long command on stderr:
// count/total, rate and ETA, redrawn in place when stderr is a terminal.
//
// What a reader sees depends on where stderr goes (Mode):
//   - Live (a terminal): one line redrawn at most five times a second, plus
//     note lines (stages) printed above it;
//   - Plain (a pipe, a file, CI logs): no redrawn line and no periodic
//     updates; only the note lines and one final line with the count,
//     the time and the rate, so logs stay short;
//   - Quiet (--quiet): nothing at all.
//
// Results never go here: they go to stdout.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Mode is how much progress a writer gets.
type Mode int

const (
	// Quiet prints nothing.
	Quiet Mode = iota
	// Plain prints note lines and a final line, never a redrawn line.
	Plain
	// Live redraws one status line in place.
	Live
)

// ModeOf picks the mode for w: Quiet when quiet is set, Live when w is a
// terminal (a character device: a Stat check, so no terminal library is
// needed), Plain otherwise.
func ModeOf(w io.Writer, quiet bool) Mode {
	switch {
	case quiet || w == nil:
		return Quiet
	case IsTerminal(w):
		return Live
	}
	return Plain
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// redrawEvery limits how often a live line is redrawn.
const redrawEvery = 200 * time.Millisecond

// Bar is one long task's status line. Its methods are safe for concurrent
// use; a nil *Bar does nothing.
type Bar struct {
	mu          sync.Mutex
	w           io.Writer
	mode        Mode
	label, unit string
	total, done int
	extra       string
	start, last time.Time
	open        bool // a live line is on screen without its newline
	finished    bool
	now         func() time.Time
}

// New starts a bar for label (e.g. "audit") counting unit (e.g.
// "samples") up to total (0: unknown).
func New(w io.Writer, mode Mode, label, unit string, total int) *Bar {
	b := &Bar{w: w, mode: mode, label: label, unit: unit, total: total, now: time.Now}
	b.start = b.now()
	return b
}

// Set records done of total (total <= 0 keeps the current total) and an
// optional extra text shown after the count (e.g. "3 failed").
func (b *Bar) Set(done, total int, extra string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done, b.extra = done, extra
	if total > 0 {
		b.total = total
	}
	b.draw(false)
}

// Add counts n more done.
func (b *Bar) Add(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.draw(false)
}

// Notef prints a line of its own (a stage, a warning) in Live and Plain
// modes; on a terminal the status line is redrawn below it.
func (b *Bar) Notef(format string, args ...any) {
	if b == nil || b.mode == Quiet {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clear()
	fmt.Fprintf(b.w, format+"\n", args...)
	if b.mode == Live && b.done > 0 {
		b.draw(true)
	}
}

// Status redraws text as the live line in Live mode (throttled like a
// count) and drops it otherwise: for periodic updates that are not a
// count, such as "read prefs.jsonl: 300000 lines".
func (b *Bar) Status(text string) {
	if b == nil || b.mode != Live {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.now()
	if b.finished || t.Sub(b.last) < redrawEvery {
		return
	}
	b.last = t
	fmt.Fprintf(b.w, "\r%s\x1b[K", text)
	b.open = true
}

// Done ends the bar with a final line: the count, the elapsed time and the
// rate. It prints nothing when no work was counted.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished || b.mode == Quiet {
		b.finished = true
		return
	}
	b.finished = true
	b.clear()
	if b.done == 0 && b.total == 0 {
		return
	}
	elapsed := b.now().Sub(b.start)
	fmt.Fprintf(b.w, "%s: %s in %s (%s)\n", b.label, b.count(), roundDur(elapsed), Rate(b.done, elapsed, b.unit))
}

// draw redraws the live line, at most every redrawEvery unless forced or
// at the end.
func (b *Bar) draw(force bool) {
	if b.mode != Live || b.finished {
		return
	}
	t := b.now()
	if !force && t.Sub(b.last) < redrawEvery && (b.total <= 0 || b.done < b.total) {
		return
	}
	b.last = t
	line := Line(b.label, b.count(), b.done, b.total, t.Sub(b.start), b.unit)
	if b.extra != "" {
		line += " · " + b.extra
	}
	// \r and erase-to-end-of-line: a shorter line leaves no tail behind.
	fmt.Fprintf(b.w, "\r%s\x1b[K", line)
	b.open = true
}

func (b *Bar) clear() {
	if b.open {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.open = false
	}
}

func (b *Bar) count() string {
	s := fmt.Sprintf("%d", b.done)
	if b.total > 0 {
		s += fmt.Sprintf("/%d", b.total)
	}
	if b.unit != "" {
		s += " " + b.unit
	}
	return s
}

// Line formats a status line: "audit: 120/300 samples · 24.0 samples/s · ETA 8s".
// The ETA is left out until something is done or when total is unknown.
func Line(label, count string, done, total int, elapsed time.Duration, unit string) string {
	parts := []string{label + ": " + count}
	if done > 0 && elapsed > 0 {
		parts = append(parts, Rate(done, elapsed, unit))
		if total > done {
			eta := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
			parts = append(parts, "ETA "+roundDur(eta).String())
		}
	}
	return strings.Join(parts, " · ")
}

// Rate formats done per second (or per minute when slower than one a
// second), e.g. "24.0 samples/s" or "12.0 steps/min".
func Rate(done int, elapsed time.Duration, unit string) string {
	if unit == "" {
		unit = "items"
	}
	if elapsed <= 0 {
		return "- " + unit + "/s"
	}
	r := float64(done) / elapsed.Seconds()
	if r > 0 && r < 1 {
		return fmt.Sprintf("%.1f %s/min", r*60, unit)
	}
	return fmt.Sprintf("%.1f %s/s", r, unit)
}

// roundDur rounds a duration for display: tenths of a second below a
// minute, whole seconds above.
func roundDur(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// Lines returns a callback that prints each status line (a command's
// stages, which carry their own times) on its own line, or nil in Quiet
// mode: the shape of lab.Options.Progress and prefs.Options.Progress,
// where nil means silent. It is safe for concurrent use.
func Lines(w io.Writer, mode Mode, prefix string) func(string) {
	if mode == Quiet || w == nil {
		return nil
	}
	var mu sync.Mutex
	return func(s string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(w, prefix+s)
	}
}
