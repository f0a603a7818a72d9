package target

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is a failed request to an HTTP target, after any retries. Its text
// names the endpoint (without credentials), the HTTP status or transport
// failure, how many attempts were made and the start of the server's reply,
// with any API key blanked out.
type Error struct {
	Op        string // what was attempted, e.g. "chat completion"
	URL       string // the endpoint, without user info or query
	Status    int    // HTTP status of the last attempt; 0 for transport errors
	Attempts  int
	Retryable bool   // whether the last failure was of a kind worth retrying later
	Body      string // start of the last reply body, redacted
	Err       error  // underlying cause
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(" at ")
	b.WriteString(e.URL)
	b.WriteString(": ")
	if e.Status != 0 {
		b.WriteString("HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		if e.Err != nil {
			b.WriteString(": ")
		}
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	if e.Attempts > 1 {
		b.WriteString(" (after ")
		b.WriteString(strconv.Itoa(e.Attempts))
		b.WriteString(" attempts)")
	}
	if e.Body != "" {
		b.WriteString("; server said: ")
		b.WriteString(e.Body)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString("; ")
		b.WriteString(hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// hint says what the user can do next.
func (e *Error) hint() string {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return "check the API key environment variable (--api-key-env)"
	case e.Status == http.StatusNotFound:
		return "check the base URL (it usually ends in /v1) and the model name"
	case e.Retryable:
		return "the server may be overloaded or down; rerun the same command later to resume"
	}
	return ""
}

// Fatal reports whether err is a failure that retrying later will not fix
// (bad credentials, wrong URL, a request the server rejects), so a run
// should stop at once rather than fail sample after sample.
func Fatal(err error) bool {
	var e *Error // callers wrap it ("task ...: %w")
	if !errors.As(err, &e) {
		return false
	}
	return !e.Retryable && e.Status >= 400 && e.Status < 500
}

// retryableStatus reports whether an HTTP status is worth another attempt:
// rate limits, timeouts, conflicts and server errors.
func retryableStatus(code int) bool {
	switch {
	case code == http.StatusTooManyRequests, code == http.StatusRequestTimeout, code == http.StatusConflict:
		return true
	case code >= 500 && code != http.StatusNotImplemented:
		return true
	}
	return false
}

// backoff returns the wait before attempt+1: "full jitter" (uniform in
// [0, min(max, base·2^attempt)]), which spreads retries from many workers
// instead of having them stampede together. A server's Retry-After is a
// floor, capped at capRetryAfter.
func backoff(attempt int, base, max, retryAfter, capRetryAfter time.Duration) time.Duration {
	ceil := base << min(attempt, 30)
	if ceil <= 0 || ceil > max {
		ceil = max
	}
	d := time.Duration(rand.Int64N(int64(ceil) + 1))
	if retryAfter > capRetryAfter {
		retryAfter = capRetryAfter
	}
	if retryAfter > d {
		d = retryAfter
	}
	return d
}

// parseRetryAfter reads a Retry-After header: delta seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
