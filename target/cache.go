package target

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Cache stores responses by key. store.Store implements it on SQLite.
type Cache interface {
	// GetResponse returns the cached response for key, if any.
	GetResponse(ctx context.Context, key string) (*Response, bool, error)
	// PutResponse records resp under key.
	PutResponse(ctx context.Context, key string, resp *Response) error
}

// CacheKey hashes what determines a response: the target (endpoint and
// model, never the API key), the messages and the sampling parameters.
func CacheKey(targetName string, req Request) string {
	// json.Marshal of these plain structs is deterministic (field order).
	b, _ := json.Marshal(struct {
		V      int      `json:"v"`
		Target string   `json:"target"`
		Req    *Request `json:"req"`
	}{1, targetName, &req})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Cached wraps t so identical requests are answered from c. Sampled
// requests (temperature > 0) are cached too: a rerun then sees the same
// samples, which is what resuming and re-scoring need; vary Params.Seed to
// draw new ones.
func Cached(t Target, c Cache) Target {
	ct := &cachedTarget{t: t, c: c}
	if lp, ok := t.(LogProber); ok {
		return &cachedLogProber{cachedTarget: ct, lp: lp}
	}
	return ct
}

type cachedTarget struct {
	t Target
	c Cache
}

func (ct *cachedTarget) Name() string { return ct.t.Name() }

func (ct *cachedTarget) Chat(ctx context.Context, req Request) (*Response, error) {
	key := CacheKey(ct.t.Name(), req)
	if r, ok, err := ct.c.GetResponse(ctx, key); err == nil && ok {
		r.Cached = true
		return r, nil
	}
	r, err := ct.t.Chat(ctx, req)
	if err != nil {
		return nil, err
	}
	// A failed cache write costs only a repeated request later.
	_ = ct.c.PutResponse(ctx, key, r)
	return r, nil
}

// cachedLogProber keeps the wrapped target's LogProber visible; scores
// are cheap to recompute relative to their value, so they are not cached.
type cachedLogProber struct {
	*cachedTarget
	lp LogProber
}

func (c *cachedLogProber) AnswerLogProb(ctx context.Context, msgs []Message, answer string) (float64, int, error) {
	return c.lp.AnswerLogProb(ctx, msgs, answer)
}
