// The progress line Run.Train writes to stderr: step, percentage, the main
// metrics, speed and time left. On a terminal it redraws one line; into a
// file or pipe it writes a line at most every few seconds (and the last).

package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressLine is the state of the progress display.
type progressLine struct {
	begin     time.Time
	firstStep int
	total     int
	lastWrite time.Time
	open      bool // a redrawn line is on screen without its newline
}

// pipeEvery is how often a progress line goes to a non-terminal.
const pipeEvery = 5 * time.Second

func (p *progressLine) start(step, total int) {
	*p = progressLine{begin: time.Now(), firstStep: step, total: total}
}

// update shows step's metrics.
func (p *progressLine) update(w io.Writer, step int, m Metrics, keys []string) {
	if w == nil {
		return
	}
	now := time.Now()
	tty := isTerminal(w)
	if !tty && step != p.total && now.Sub(p.lastWrite) < pipeEvery {
		return
	}
	p.lastWrite = now
	var b strings.Builder
	pct := 0.0
	if p.total > 0 {
		pct = 100 * float64(step) / float64(p.total)
	}
	fmt.Fprintf(&b, "step %d/%d (%.0f%%)", step, p.total, pct)
	for _, k := range keys {
		if v, ok := m[k]; ok {
			fmt.Fprintf(&b, " %s %s", k, formatMetric(v))
		}
	}
	if done := step - p.firstStep; done > 0 {
		per := now.Sub(p.begin) / time.Duration(done)
		left := per * time.Duration(p.total-step)
		fmt.Fprintf(&b, " | %.2fs/step, %s left", per.Seconds(), left.Round(time.Second))
	}
	if tty {
		fmt.Fprintf(w, "\r\033[K%s", b.String())
		p.open = true
		if step == p.total {
			p.finish(w)
		}
		return
	}
	fmt.Fprintln(w, b.String())
}

// note prints a one-off line (an evaluation) without losing the bar.
func (p *progressLine) note(w io.Writer, step int, m map[string]float64, keys []string) {
	if w == nil {
		return
	}
	p.finish(w)
	var b strings.Builder
	fmt.Fprintf(&b, "eval at step %d:", step)
	shown := 0
	for _, k := range keys {
		if v, ok := m["eval_"+k]; ok {
			fmt.Fprintf(&b, " eval_%s %s", k, formatMetric(v))
			shown++
		}
	}
	if v, ok := m["eval_loss"]; ok && shown == 0 {
		fmt.Fprintf(&b, " eval_loss %s", formatMetric(v))
	}
	fmt.Fprintln(w, b.String())
}

// finish ends a redrawn line.
func (p *progressLine) finish(w io.Writer) {
	if p.open && w != nil {
		fmt.Fprintln(w)
	}
	p.open = false
}

func formatMetric(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	if a != 0 && (a < 1e-3 || a >= 1e5) {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.4f", v)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
