package serve

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tokenizer"
)

// Config sets a server's name, limits and access. Zero values take the
// defaults given per field.
type Config struct {
	// ModelName is the id clients pass as "model" and /v1/models lists
	// (default "alignlab"). A request naming another model is refused.
	ModelName string
	// APIKey, when set, is required as "Authorization: Bearer KEY" on
	// every /v1 route. It is never logged.
	APIKey string
	// MaxBatch is the number of sequences decoded together: the KV cache's
	// slots (default 16).
	MaxBatch int
	// MaxContext is the most tokens (prompt plus completion) one sequence
	// may hold: at most the model's MaxSeqLen, by default that capped at
	// DefaultMaxContext. The KV cache takes MaxBatch·MaxContext positions
	// (see KVCacheBytes), allocated once at start.
	MaxContext int
	// MaxTokensLimit caps max_tokens (default MaxContext).
	MaxTokensLimit int
	// MaxBodyBytes caps a request body (default 4 MiB).
	MaxBodyBytes int64
	// MaxN caps n, the choices per prompt (default 16); MaxChoices caps
	// prompts × n in one completions request (default 256, at most
	// MaxQueue).
	MaxN, MaxChoices int
	// MaxQueue caps the sequences waiting for a slot; beyond it requests
	// get 429 (default 64·MaxBatch, at least 256).
	MaxQueue int
	// Logger receives one line per request (default: discard).
	Logger *slog.Logger

	stepHook func() // tests: runs before every scheduler step
}

func (c *Config) fill(m *model.Model) error {
	if c.ModelName == "" {
		c.ModelName = "alignlab"
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 16
	}
	if c.MaxContext == 0 {
		c.MaxContext = min(m.Config.MaxSeqLen, DefaultMaxContext)
	}
	if c.MaxTokensLimit == 0 {
		c.MaxTokensLimit = c.MaxContext
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 4 << 20
	}
	if c.MaxN == 0 {
		c.MaxN = 16
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = max(256, 64*c.MaxBatch)
	}
	if c.MaxChoices == 0 {
		c.MaxChoices = min(256, c.MaxQueue)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch {
	case c.MaxBatch < 1 || c.MaxBatch > 1024:
		return fmt.Errorf("max batch %d outside [1, 1024]", c.MaxBatch)
	case c.MaxContext < 2 || c.MaxContext > m.Config.MaxSeqLen:
		return fmt.Errorf("max context %d outside [2, %d] (the model's max_seq_len)", c.MaxContext, m.Config.MaxSeqLen)
	case c.MaxTokensLimit < 1:
		return fmt.Errorf("max tokens limit %d < 1", c.MaxTokensLimit)
	case c.MaxBodyBytes < 1024:
		return fmt.Errorf("max body bytes %d < 1024", c.MaxBodyBytes)
	case c.MaxN < 1 || c.MaxChoices < 1 || c.MaxQueue < 1:
		return errors.New("max n, max choices and max queue must be at least 1")
	case c.MaxChoices > c.MaxQueue:
		return fmt.Errorf("max choices %d exceeds max queue %d: such a request could never be admitted", c.MaxChoices, c.MaxQueue)
	}
	return nil
}

// DefaultMaxContext caps the default context per sequence: models
// declare up to 128k positions, and a KV cache of 16 such sequences would
// not fit in memory.
const DefaultMaxContext = 4096

// KVCacheBytes is the memory the KV cache of batch sequences of maxLen
// tokens takes for cfg.
func KVCacheBytes(cfg model.Config, batch, maxLen int) int64 {
	return 2 * 4 * int64(cfg.NumLayers) * int64(batch) * int64(maxLen) * int64(cfg.NumKVHeads*cfg.HeadDim())
}

// Config returns the server's configuration with its defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Server answers the OpenAI API over one model. Create it with New, mount
// Handler, and Close it (or use Serve, which does both).
type Server struct {
	cfg     Config
	m       *model.Model
	tok     *tokenizer.Tokenizer
	eng     *engine
	stops   []int32 // the tokenizer's stop tokens
	created int64
}

// New starts a server's scheduler for m and tok. The tokenizer's
// vocabulary must fit in the model's (models often pad theirs).
func New(m *model.Model, tok *tokenizer.Tokenizer, cfg Config) (*Server, error) {
	if m == nil || tok == nil {
		return nil, errors.New("serve: need a model and a tokenizer")
	}
	if tok.VocabSize() > m.Config.VocabSize {
		return nil, fmt.Errorf("serve: tokenizer has %d tokens but the model only %d: they do not belong together",
			tok.VocabSize(), m.Config.VocabSize)
	}
	if err := cfg.fill(m); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &Server{cfg: cfg, m: m, tok: tok, stops: tok.StopTokens(), created: time.Now().Unix()}
	s.eng = newEngine(m, cfg.MaxBatch, cfg.MaxContext, cfg.MaxQueue, cfg.stepHook)
	return s, nil
}

// Close stops the scheduler: sequences still running end with an error.
// Handlers must be done or cut (see Serve) before the model is reused.
func (s *Server) Close() { s.eng.close() }

// Handler returns the HTTP routes: GET /v1/models, POST
// /v1/chat/completions, POST /v1/completions and GET /health (no key).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	mux.Handle("GET /v1/models", s.auth(http.HandlerFunc(s.handleModels)))
	mux.Handle("POST /v1/chat/completions", s.auth(http.HandlerFunc(s.handleChat)))
	mux.Handle("POST /v1/completions", s.auth(http.HandlerFunc(s.handleCompletions)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, typ: "invalid_request_error", code: "unknown_url",
			message: fmt.Sprintf("unknown route %s %s; this server offers GET /v1/models, POST /v1/chat/completions and POST /v1/completions", r.Method, r.URL.Path)})
	})
	return s.logRequests(mux)
}

// auth checks the bearer token in constant time when a key is configured.
func (s *Server) auth(next http.Handler) http.Handler {
	if s.cfg.APIKey == "" {
		return next
	}
	want := []byte("Bearer " + s.cfg.APIKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="alignlab"`)
			writeError(w, &apiError{status: http.StatusUnauthorized, typ: "invalid_request_error", code: "invalid_api_key",
				message: "missing or incorrect API key: send 'Authorization: Bearer KEY' with the key the server was started with"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status for the request log and passes
// flushes through (streaming needs them).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one line per request: method, path, status, time.
// Headers (which hold the API key) are never logged.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s.cfg.Logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}

func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, modelList{Object: "list", Data: []modelInfo{{
		ID: s.cfg.ModelName, Object: "model", Created: s.created, OwnedBy: "alignlab", MaxModelLen: s.cfg.MaxContext,
	}}})
}

// writeJSON sends v as a 200 JSON response.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// bodyTimeout bounds how long a client may take to send its body (a
// variable for tests).
var bodyTimeout = 60 * time.Second

// readBody decodes the request body into v under the body size limit and
// a read deadline. The body is read as JSON whatever the Content-Type
// says (curl -d sends a form type), as llama.cpp's server does. The
// deadline is lifted afterwards, so it never limits a long stream.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, v any) error {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	return decodeJSON(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), v)
}

// newID returns a response id such as "chatcmpl-3f2a...".
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
