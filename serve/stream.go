// Server-sent events as the OpenAI API streams them: one "data: JSON"
// event per chunk, "data: [DONE]" at the end, and an error object as a
// data event if the request fails after the stream began.

package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// sse writes one stream. After a write fails (the client left) every
// further call does nothing and err holds the failure.
type sse struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func newSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies such as nginx must not buffer the stream
	w.WriteHeader(http.StatusOK)
	return &sse{w: w, rc: http.NewResponseController(w)}
}

// send writes v as one data event and flushes it to the client.
func (s *sse) send(v any) {
	if s.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.err = fmt.Errorf("encode stream chunk: %w", err)
		return
	}
	s.raw(b)
}

func (s *sse) raw(b []byte) {
	if s.err != nil {
		return
	}
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", b); err != nil {
		s.err = err
		return
	}
	s.err = s.rc.Flush()
}

// fail sends err as an error event and ends the stream.
func (s *sse) fail(err error) {
	s.send(asAPIError(err).body())
	s.done()
}

// done ends the stream.
func (s *sse) done() { s.raw([]byte("[DONE]")) }

// collectAll waits until every choice of ru is done, or ctx ends.
func collectAll(ctx context.Context, ru *run) error {
	for ru.remaining > 0 {
		if _, err := ru.wait(ctx); err != nil {
			return err
		}
	}
	for _, c := range ru.choices {
		if c.err != nil {
			return c.err
		}
	}
	return nil
}
