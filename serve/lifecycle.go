// Loading a model directory and running the HTTP server with a graceful
// shutdown.

package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/alignlab/alignlab/internal/modeldir"
	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// Load reads a model directory in either layout: Hugging Face (config.json
// with a "model_type", model.safetensors or shards, tokenizer.json) or
// alignlab's own checkpoint (model.Load) beside a tokenizer.json. The
// server needs the tokenizer, so a directory without one is an error.
func Load(dir string) (*model.Model, *tokenizer.Tokenizer, error) {
	m, tok, err := modeldir.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	if tok == nil {
		return nil, nil, fmt.Errorf("load %s: no %s: the server needs the model's tokenizer (save the tokenizer the model was trained with into the directory)", dir, modeldir.TokenizerFile)
	}
	return m, tok, nil
}

// IsLoopback reports whether addr (host:port) listens on loopback only.
// An empty host or a wildcard address listens on every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Serve answers on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish for up to grace, then cuts the
// rest (their streams get an error event, others a 503) and stops the
// scheduler. It returns nil after a shutdown triggered by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// No ReadTimeout or WriteTimeout: responses stream for as long as
		// they need; readBody puts a deadline on the body alone.
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		// Grace is over: end the sequences still running so that their
		// handlers write an error, give them a moment, then drop the
		// connections.
		s.eng.close()
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = hs.Shutdown(cctx)
		ccancel()
		_ = hs.Close()
	}
	s.Close()
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serr)
	}
	return nil
}
