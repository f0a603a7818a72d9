package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// GetCached returns the cached response stored under key, if any. Keys are
// hashes of (target, model, messages, parameters); see target.CacheKey.
func (s *Store) GetCached(ctx context.Context, key string) ([]byte, bool, error) {
	var b []byte
	err := s.getCache.QueryRowContext(ctx, key).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read response cache: %w", err)
	}
	return b, true, nil
}

// PutCached stores val under key, replacing what was there.
func (s *Store) PutCached(ctx context.Context, key string, val []byte) error {
	_, err := s.putCache.ExecContext(ctx, key, val, now())
	if err != nil {
		return fmt.Errorf("write response cache: %w", err)
	}
	return nil
}

// CacheSize returns how many responses the cache holds.
func (s *Store) CacheSize(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM response_cache`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count response cache: %w", err)
	}
	return n, nil
}
