package target

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// HTTPConfig configures an OpenAI-compatible endpoint.
type HTTPConfig struct {
	// BaseURL is the API root, e.g. http://localhost:8000/v1; the client
	// appends /chat/completions and /completions. A URL that already ends
	// in /chat/completions is used as is.
	BaseURL string
	// Model is sent as the request's "model".
	Model string
	// APIKeyEnv names the environment variable holding the API key ("" for
	// none). The key is read once, without surrounding whitespace, sent
	// only in the Authorization header, and never logged, stored or put
	// into an error; where a server echoes it, in errors or replies, in
	// any common encoding, it is replaced by [REDACTED].
	APIKeyEnv string
	// Timeout bounds one attempt (default 60 s).
	Timeout time.Duration
	// MaxRetries is how many times a failed attempt is retried (default 4;
	// negative means none): on 429, 5xx, timeouts, connection errors and
	// unreadable replies.
	MaxRetries int
	// BackoffBase and BackoffMax shape the exponential backoff with full
	// jitter (defaults 250 ms and 20 s).
	BackoffBase, BackoffMax time.Duration
	// RetryAfterMax caps how long a server's Retry-After is honoured
	// (default 60 s).
	RetryAfterMax time.Duration
	// Concurrency bounds the requests in flight (default 16).
	Concurrency int
	// RPM bounds requests started per minute (0: unlimited).
	RPM float64
	// Client replaces the default HTTP client (tests).
	Client *http.Client
}

// HTTP is an OpenAI-compatible chat endpoint. It is safe for concurrent use.
type HTTP struct {
	cfg        HTTPConfig
	key        string
	rd         redactor // finds key in what the server sends back
	chatURL    string
	complURL   string
	shownURL   string // for errors and Name: no user info, no query
	sem        chan struct{}
	lim        *rate.Limiter
	client     *http.Client
	noLogp     chan struct{} // closed once /completions proved unsupported
	noLogpOnce sync.Once
}

// NewHTTP checks cfg, reads the API key from the named environment
// variable and returns the client.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target URL %q: want http(s)://host[:port]/v1", redactURL(cfg.BaseURL))
	}
	if cfg.Model == "" {
		return nil, errors.New("HTTP target needs a model name (--model)")
	}
	h := &HTTP{cfg: cfg, noLogp: make(chan struct{})}
	if cfg.APIKeyEnv != "" {
		// A .env file with CRLF line ends leaves a "\r" on the key, which
		// no server's key has and which net/http refuses to send.
		h.key = strings.TrimSpace(os.Getenv(cfg.APIKeyEnv))
		if h.key == "" {
			return nil, fmt.Errorf("environment variable %s (named by --api-key-env) is empty or not set", cfg.APIKeyEnv)
		}
		if err := checkHeaderValue(h.key); err != nil {
			return nil, fmt.Errorf("environment variable %s (named by --api-key-env): the API key %v, which an HTTP header cannot carry; check how the variable is set", cfg.APIKeyEnv, err)
		}
		h.rd = newRedactor(h.key)
	}
	if h.cfg.Timeout <= 0 {
		h.cfg.Timeout = 60 * time.Second
	}
	if h.cfg.MaxRetries == 0 {
		h.cfg.MaxRetries = 4
	} else if h.cfg.MaxRetries < 0 {
		h.cfg.MaxRetries = 0
	}
	if h.cfg.BackoffBase <= 0 {
		h.cfg.BackoffBase = 250 * time.Millisecond
	}
	if h.cfg.BackoffMax <= 0 {
		h.cfg.BackoffMax = 20 * time.Second
	}
	if h.cfg.RetryAfterMax <= 0 {
		h.cfg.RetryAfterMax = 60 * time.Second
	}
	if h.cfg.Concurrency <= 0 {
		h.cfg.Concurrency = 16
	}
	h.sem = make(chan struct{}, h.cfg.Concurrency)
	if cfg.RPM > 0 {
		h.lim = rate.NewLimiter(rate.Limit(cfg.RPM/60), 1)
	}
	h.client = cfg.Client
	if h.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Keep a connection per concurrent request; the default of 2 idle
		// connections per host makes every extra request dial anew.
		tr.MaxIdleConnsPerHost = h.cfg.Concurrency
		tr.MaxIdleConns = h.cfg.Concurrency * 2
		h.client = &http.Client{Transport: tr}
	}
	// Paths are joined on the URL's path, so that a query the endpoint
	// needs (Azure's ?api-version=...) stays at the end.
	at := func(path string) string {
		v := *u
		v.Path, v.RawPath = path, ""
		return v.String()
	}
	root := strings.TrimRight(u.Path, "/")
	if strings.HasSuffix(root, "/chat/completions") {
		h.chatURL = at(root)
		root = strings.TrimSuffix(root, "/chat/completions")
	} else {
		h.chatURL = at(root + "/chat/completions")
	}
	h.complURL = at(root + "/completions")
	h.shownURL = redactURL(at(root))
	return h, nil
}

// Name returns "URL#model".
func (h *HTTP) Name() string { return h.shownURL + "#" + h.cfg.Model }

// String describes the client without its key.
func (h *HTTP) String() string { return "HTTP target " + h.Name() }

// GoString keeps %#v from printing the key.
func (h *HTTP) GoString() string { return h.String() }

// checkHeaderValue reports a byte an HTTP header value may not hold
// (control characters other than tab), by position and value only: the
// caller's value is a secret.
func checkHeaderValue(v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return fmt.Errorf("holds control character 0x%02x at byte %d of %d", c, i+1, len(v))
		}
	}
	return nil
}

// redactURL drops user info and query (either may hold a credential).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparseable URL>"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

type chatBody struct {
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	Temperature float64   `json:"temperature"`
	TopP        float64   `json:"top_p,omitempty"`
	MaxTokens   int       `json:"max_tokens,omitempty"`
	N           int       `json:"n,omitempty"`
	Seed        *int64    `json:"seed,omitempty"`
	Stop        []string  `json:"stop,omitempty"`
}

type chatReply struct {
	Choices []struct {
		Message *struct {
			Content *string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
	Usage *Usage `json:"usage"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Chat sends one chat completion request, retrying transient failures.
func (h *HTTP) Chat(ctx context.Context, req Request) (*Response, error) {
	if len(req.Messages) == 0 {
		return nil, errors.New("chat request has no messages")
	}
	p := req.Params
	body := chatBody{Model: h.cfg.Model, Messages: req.Messages, Temperature: p.Temperature,
		TopP: p.TopP, MaxTokens: p.MaxTokens, Stop: p.Stop}
	if p.N > 1 {
		body.N = p.N
	}
	if p.HasSeed {
		seed := p.Seed
		body.Seed = &seed
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode chat request: %w", err)
	}
	var out *Response
	err = h.do(ctx, "chat completion", h.chatURL, payload, func(data []byte) error {
		r, err := parseChatReply(data, p.Choices())
		out = r
		return err
	})
	if err != nil {
		return nil, err
	}
	// A reply that echoes the key would otherwise be kept in the response
	// cache and the stored samples, and shown in reports.
	for i, c := range out.Choices {
		out.Choices[i] = h.rd.redact(c)
	}
	return out, nil
}

// parseChatReply reads a chat completion reply that should hold at least
// n choices.
func parseChatReply(data []byte, n int) (*Response, error) {
	var r chatReply
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("reply is not JSON: %w", err)
	}
	if r.Error != nil {
		return nil, fmt.Errorf("reply carries an error: %s", r.Error.Message)
	}
	if len(r.Choices) == 0 {
		return nil, errors.New(`reply has no "choices"`)
	}
	if len(r.Choices) < n {
		return nil, fmt.Errorf("asked for n=%d choices, reply has %d (the server may ignore n)", n, len(r.Choices))
	}
	res := &Response{Choices: make([]string, len(r.Choices))}
	for i, c := range r.Choices {
		if c.Message == nil || c.Message.Content == nil {
			return nil, fmt.Errorf("reply choice %d has no message content", i)
		}
		res.Choices[i] = *c.Message.Content
	}
	if r.Usage != nil {
		res.Usage = *r.Usage
	}
	return res, nil
}

// errGarbage marks a 2xx reply that could not be understood.
type errGarbage struct{ err error }

func (e errGarbage) Error() string { return "unreadable reply: " + e.err.Error() }
func (e errGarbage) Unwrap() error { return e.err }

// permanent marks a parse failure that another attempt will not fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// do POSTs payload to endpoint and hands a 2xx body to parse, retrying
// transient failures (including an unparseable reply, which proxies in
// trouble often send) with backoff.
func (h *HTTP) do(ctx context.Context, op, endpoint string, payload []byte, parse func([]byte) error) error {
	shown := redactURL(endpoint)
	var last *Error
	var retryAfter time.Duration
	for attempt := 0; attempt <= h.cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt-1, h.cfg.BackoffBase, h.cfg.BackoffMax, retryAfter, h.cfg.RetryAfterMax)); err != nil {
				return err
			}
		}
		status, ra, body, err := h.attempt(ctx, endpoint, payload)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		retryAfter = ra
		e := &Error{Op: op, URL: shown, Status: status, Attempts: attempt + 1}
		switch {
		case err != nil:
			e.Err, e.Retryable = h.redactErr(err), true
		case status < 200 || status > 299:
			e.Retryable = retryableStatus(status)
			e.Body = h.excerpt(body)
		default:
			perr := parse(body)
			if perr == nil {
				return nil
			}
			var perm permanent
			e.Err, e.Retryable, e.Body = errGarbage{h.redactErr(perr)}, !errors.As(perr, &perm), h.excerpt(body)
		}
		last = e
		if !e.Retryable {
			return e
		}
	}
	return last
}

// attempt makes one request under the concurrency and rate limits and the
// per-attempt timeout. It returns the status, the server's Retry-After, the
// body, or a transport error (timeouts included).
func (h *HTTP) attempt(ctx context.Context, endpoint string, payload []byte) (int, time.Duration, []byte, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, 0, nil, ctx.Err()
	}
	defer func() { <-h.sem }()
	if h.lim != nil {
		if err := h.lim.Wait(ctx); err != nil {
			return 0, 0, nil, err
		}
	}
	actx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		return 0, 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if h.key != "" {
		req.Header.Set("Authorization", "Bearer "+h.key)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		if actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return 0, 0, nil, fmt.Errorf("no reply within %s (per-request timeout)", h.cfg.Timeout)
		}
		return 0, 0, nil, describeTransport(err)
	}
	defer resp.Body.Close()
	// Bound what a misbehaving server can make us hold in memory.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		if actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return 0, 0, nil, fmt.Errorf("reply not finished within %s (per-request timeout)", h.cfg.Timeout)
		}
		return 0, 0, nil, fmt.Errorf("read reply: %w", err)
	}
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), body, nil
}

// describeTransport turns a transport error into a short message; the
// *url.Error wrapper repeats the URL, which the caller already names.
func describeTransport(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("connection timed out: %w", err)
	}
	return fmt.Errorf("connection failed: %w", err)
}

// redactErr blanks the API key, in any encoding, out of an error's text,
// in case a server or proxy echoed it back (a reply's "error" message is
// JSON-decoded by then, so it holds the key as sent).
func (h *HTTP) redactErr(err error) error {
	msg := err.Error()
	if r := h.rd.redact(msg); r != msg {
		return errors.New(r)
	}
	return err
}

// excerpt returns the start of a reply body for an error message, on one
// line, with the API key blanked out.
func (h *HTTP) excerpt(body []byte) string {
	const max = 200
	s := h.rd.redact(string(body))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
