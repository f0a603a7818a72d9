package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/alignlab/alignlab/serve"
)

// apiKeyEnv names the environment variable serve reads its key from when
// --api-key is not given (a flag shows in the process list; the
// environment does not).
const apiKeyEnv = "ALIGNLAB_API_KEY"

type serveFlags struct {
	model, addr, apiKey, name  string
	allowRemote                bool
	maxBatch, maxContext, maxN int
	maxTokensLimit             int
	maxBodyBytes               int64
	grace                      time.Duration
	// asJSON prints the ready line as JSON on stdout (to ready) and logs
	// as JSON; quiet logs warnings and errors only.
	asJSON, quiet bool
	ready         io.Writer
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --model DIR [--addr 127.0.0.1:8080]",
		Short: "Serve a local model over the OpenAI API (chat, completions with log-probs)",
		Long: `serve answers the OpenAI API over a local model:
  GET  /v1/models
  POST /v1/chat/completions   streamed (SSE) or not; temperature, top_p, top_k, max_tokens,
                              seed, stop, n, logprobs + top_logprobs (0..20), usage
  POST /v1/completions        prompt string(s) or token ids; echo + logprobs gives the prompt's
                              per-token log-probs (log-likelihood scoring), max_tokens 0 allowed
  GET  /health                no key needed

DIR is a Hugging Face model directory (config.json, model.safetensors, tokenizer.json) or an
alignlab checkpoint with a tokenizer.json beside it. Chat messages are rendered with the
model's chat template. Concurrent requests are batched continuously through one KV cache of
--max-batch sequences; a request with a seed gets the same answer however busy the server is.

The server listens on loopback unless told otherwise; a non-loopback --addr needs an API key
(--api-key, or the ALIGNLAB_API_KEY environment variable, which keeps it out of the process
list) or --allow-remote. SIGINT/SIGTERM stop it gracefully: requests in flight get
--shutdown-timeout to finish, then are cut with an error.`,
		Example: `  alignlab serve --model ./my-checkpoint
  ALIGNLAB_API_KEY=sk-local alignlab serve --model ./SmolLM2-135M-Instruct --addr 0.0.0.0:8000
  alignlab serve --model ./my-checkpoint --addr 127.0.0.1:0 --json --quiet   # prints {"url": ...} once ready
  curl -s localhost:8080/v1/chat/completions -d '{"messages":[{"role":"user","content":"hi"}]}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			f.quiet, f.ready = quietFlag(cmd), cmd.OutOrStdout()
			return runServe(ctx, f, cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "model directory (Hugging Face layout or alignlab checkpoint with tokenizer.json)")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address host:port")
	fl.StringVar(&f.apiKey, "api-key", "", "require this bearer key (default: $"+apiKeyEnv+"; none if both are empty)")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow a non-loopback --addr without an API key")
	fl.StringVar(&f.name, "served-model-name", "", "model id clients send and /v1/models lists (default: the directory's name)")
	fl.IntVar(&f.maxBatch, "max-batch", 16, "sequences decoded together (KV cache slots)")
	fl.IntVar(&f.maxContext, "max-context", 0, "most tokens (prompt + completion) per sequence; the KV cache holds --max-batch of them (default: the model's max_seq_len, at most 4096)")
	fl.IntVar(&f.maxTokensLimit, "max-tokens-limit", 0, "largest max_tokens a request may ask for (default: --max-context)")
	fl.Int64Var(&f.maxBodyBytes, "max-body-bytes", 4<<20, "largest request body")
	fl.IntVar(&f.maxN, "max-n", 16, "largest n (choices per prompt)")
	fl.DurationVar(&f.grace, "shutdown-timeout", 30*time.Second, "how long requests in flight may finish after SIGINT/SIGTERM")
	fl.BoolVar(&f.asJSON, "json", false, `once listening, print {"url", "model", "addr"} on stdout (a server has no result; this tells a script where it is, e.g. with --addr 127.0.0.1:0), and log as JSON lines`)
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

func runServe(ctx context.Context, f serveFlags, logw io.Writer) error {
	// Without surrounding whitespace: a key read from a CRLF .env file
	// ends in "\r", which no client sends, and a blank key is no key.
	key := strings.TrimSpace(f.apiKey)
	if key == "" {
		key = strings.TrimSpace(os.Getenv(apiKeyEnv))
	}
	if !serve.IsLoopback(f.addr) && key == "" && !f.allowRemote {
		return fmt.Errorf("--addr %s listens beyond this machine: set an API key (--api-key or $%s) or pass --allow-remote", f.addr, apiKeyEnv)
	}
	lo := &slog.HandlerOptions{}
	if f.quiet {
		lo.Level = slog.LevelWarn
	}
	var h slog.Handler = slog.NewTextHandler(logw, lo)
	if f.asJSON {
		h = slog.NewJSONHandler(logw, lo)
	}
	log := slog.New(h)
	start := time.Now()
	m, tok, err := serve.Load(f.model)
	if err != nil {
		return err
	}
	name := f.name
	if name == "" {
		if abs, err := filepath.Abs(f.model); err == nil {
			name = filepath.Base(abs)
		}
	}
	s, err := serve.New(m, tok, serve.Config{
		ModelName: name, APIKey: key, MaxBatch: f.maxBatch, MaxContext: f.maxContext,
		MaxTokensLimit: f.maxTokensLimit, MaxBodyBytes: f.maxBodyBytes, MaxN: f.maxN, Logger: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		s.Close()
		return fmt.Errorf("listen on %s: %w", f.addr, err)
	}
	c := s.Config()
	log.Info("serving", "model", name, "url", "http://"+ln.Addr().String()+"/v1", "family", m.Config.Family,
		"layers", m.Config.NumLayers, "dim", m.Config.Dim, "vocab", m.Config.VocabSize, "max_batch", c.MaxBatch,
		"max_context", c.MaxContext, "kv_cache_mb", serve.KVCacheBytes(m.Config, c.MaxBatch, c.MaxContext)>>20,
		"api_key", key != "", "load_ms", time.Since(start).Milliseconds())
	if f.asJSON && f.ready != nil {
		if err := writeJSON(f.ready, map[string]string{"url": "http://" + ln.Addr().String() + "/v1", "model": name, "addr": ln.Addr().String()}); err != nil {
			s.Close()
			ln.Close()
			return err
		}
	}
	if err := s.Serve(ctx, ln, f.grace); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
