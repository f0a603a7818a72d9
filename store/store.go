// Package store keeps audit runs in one SQLite file (runs/alignlab.db by
// default): the runs, each sample's result, per-turn scores, and a
// response cache. It uses the pure-Go modernc.org/sqlite driver, so the
// binary stays cgo-free.
//
// Durability is what resuming needs: the database runs in WAL mode, each
// batch of sample results commits in one transaction, and (run_id,
// sample_id) is a primary key, so a process killed at any instant leaves
// every committed sample exactly once and nothing half-written; a resumed
// run skips what is there and redoes the rest.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is an open database. It is safe for concurrent use.
type Store struct {
	// w is the single writing connection: writes queue in Go rather than
	// spin in SQLite's busy handler. r serves reads concurrently (WAL).
	w, r *sql.DB
	path string
	// Prepared once: the cache is hit on every request, and re-parsing its
	// SQL each time was the harness's largest CPU cost.
	getCache, putCache *sql.Stmt
}

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id         TEXT PRIMARY KEY,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	target     TEXT NOT NULL,
	model      TEXT NOT NULL,
	config     TEXT NOT NULL,
	status     TEXT NOT NULL,
	summary    TEXT
);
CREATE TABLE IF NOT EXISTS samples (
	run_id     TEXT NOT NULL REFERENCES runs(id),
	sample_id  TEXT NOT NULL,
	probe      TEXT NOT NULL,
	data       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (run_id, sample_id)
);
CREATE TABLE IF NOT EXISTS scores (
	run_id    TEXT NOT NULL,
	sample_id TEXT NOT NULL,
	turn      INTEGER NOT NULL,
	scorer    TEXT NOT NULL,
	value     REAL NOT NULL,
	answer    TEXT NOT NULL,
	UNIQUE (run_id, sample_id, turn, scorer),
	FOREIGN KEY (run_id, sample_id) REFERENCES samples(run_id, sample_id)
);
CREATE TABLE IF NOT EXISTS response_cache (
	key        TEXT PRIMARY KEY,
	response   BLOB NOT NULL,
	created_at TEXT NOT NULL
);
PRAGMA user_version = 1;
`

// Open opens (creating if needed) the database at path and its directory.
func Open(path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	// synchronous(NORMAL) in WAL mode loses no committed transaction when
	// the process dies (only on power loss), at a fraction of FULL's cost.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if _, err := w.Exec(schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: create schema: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn+"&mode=ro")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	s := &Store{w: w, r: r, path: path}
	if s.getCache, err = r.Prepare(`SELECT response FROM response_cache WHERE key=?`); err == nil {
		s.putCache, err = w.Prepare(`INSERT INTO response_cache (key, response, created_at) VALUES (?,?,?)
		ON CONFLICT(key) DO UPDATE SET response=excluded.response, created_at=excluded.created_at`)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: prepare: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.getCache, s.putCache} {
		if st != nil {
			st.Close()
		}
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// Run is one audit run's record.
type Run struct {
	ID, Target, Model string
	// Config is the run's configuration as JSON: what makes it resumable.
	Config string
	// Status is "running", "interrupted", "failed" or "done".
	Status    string
	Summary   string // the probe report as JSON, once done
	CreatedAt string
	UpdatedAt string
}

// StartRun records r as running. If a run with r.ID exists it is resumed:
// its status goes back to running and resumed is true; its configuration
// must match r.Config, or an error says so.
func (s *Store) StartRun(ctx context.Context, r Run) (resumed bool, err error) {
	old, ok, err := s.GetRun(ctx, r.ID)
	if err != nil {
		return false, err
	}
	if ok {
		if old.Config != r.Config {
			return false, fmt.Errorf("run %s exists with a different configuration; pick another --run-id or repeat the original flags", r.ID)
		}
		_, err = s.w.ExecContext(ctx, `UPDATE runs SET status='running', updated_at=? WHERE id=?`, now(), r.ID)
		if err != nil {
			return false, fmt.Errorf("resume run %s: %w", r.ID, err)
		}
		return true, nil
	}
	t := now()
	_, err = s.w.ExecContext(ctx, `INSERT INTO runs (id, created_at, updated_at, target, model, config, status) VALUES (?,?,?,?,?,?,'running')`,
		r.ID, t, t, r.Target, r.Model, r.Config)
	if err != nil {
		return false, fmt.Errorf("record run %s: %w", r.ID, err)
	}
	return false, nil
}

// FinishRun sets a run's status and summary.
func (s *Store) FinishRun(ctx context.Context, id, status, summary string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE runs SET status=?, summary=?, updated_at=? WHERE id=?`, status, summary, now(), id)
	if err != nil {
		return fmt.Errorf("finish run %s: %w", id, err)
	}
	return nil
}

// GetRun returns the run with id, if any.
func (s *Store) GetRun(ctx context.Context, id string) (Run, bool, error) {
	var r Run
	var summary sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT id, target, model, config, status, summary, created_at, updated_at FROM runs WHERE id=?`, id).
		Scan(&r.ID, &r.Target, &r.Model, &r.Config, &r.Status, &summary, &r.CreatedAt, &r.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("read run %s: %w", id, err)
	}
	r.Summary = summary.String
	return r, true, nil
}

// Runs lists the runs, newest first.
func (s *Store) Runs(ctx context.Context) ([]Run, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, target, model, config, status, summary, created_at, updated_at FROM runs ORDER BY created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var summary sql.NullString
		if err := rows.Scan(&r.ID, &r.Target, &r.Model, &r.Config, &r.Status, &summary, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		r.Summary = summary.String
		out = append(out, r)
	}
	return out, rows.Err()
}
