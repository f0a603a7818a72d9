package target

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Cache stores encoded responses by key. store.Store implements it on
// SQLite; it holds bytes so the store needs no target types.
type Cache interface {
	// GetCached returns the bytes stored under key, if any.
	GetCached(ctx context.Context, key string) ([]byte, bool, error)
	// PutCached stores val under key.
	PutCached(ctx context.Context, key string, val []byte) error
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
	if b, ok, err := ct.c.GetCached(ctx, key); err == nil && ok {
		var r Response
		// An unreadable entry is treated as a miss and overwritten.
		if json.Unmarshal(b, &r) == nil && len(r.Choices) >= req.Params.Choices() {
			r.Cached = true
			return &r, nil
		}
	}
	r, err := ct.t.Chat(ctx, req)
	if err != nil {
		return nil, err
	}
	// A failed cache write costs only a repeated request later.
	if b, err := json.Marshal(r); err == nil {
		_ = ct.c.PutCached(ctx, key, b)
	}
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
