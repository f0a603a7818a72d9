package store

import (
	"context"
	"fmt"
)

// Score is one scorer's verdict on one turn of a sample.
type Score struct {
	Turn   int
	Scorer string
	Value  float64
	Answer string // what the scorer extracted from the response
}

// Sample is one finished sample of a run: its result as JSON (the audit
// package's record) and its scores, stored for SQL queries.
type Sample struct {
	RunID, SampleID, Probe string
	Data                   []byte
	Scores                 []Score
}

// PutSamples commits samples in one transaction. A sample already stored
// for the same (run, sample id) is left as it was, so a resumed run can
// never record a sample twice. It returns how many were new.
func (s *Store) PutSamples(ctx context.Context, samples []Sample) (int, error) {
	if len(samples) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store samples: %w", err)
	}
	defer tx.Rollback()
	insS, err := tx.PrepareContext(ctx, `INSERT INTO samples (run_id, sample_id, probe, data, created_at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("store samples: %w", err)
	}
	defer insS.Close()
	insC, err := tx.PrepareContext(ctx, `INSERT INTO scores (run_id, sample_id, turn, scorer, value, answer) VALUES (?,?,?,?,?,?)`)
	if err != nil {
		return 0, fmt.Errorf("store scores: %w", err)
	}
	defer insC.Close()
	t := now()
	added := 0
	for _, sm := range samples {
		res, err := insS.ExecContext(ctx, sm.RunID, sm.SampleID, sm.Probe, string(sm.Data), t)
		if err != nil {
			return 0, fmt.Errorf("store sample %s: %w", sm.SampleID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // already there from an earlier attempt
		}
		added++
		for _, sc := range sm.Scores {
			if _, err := insC.ExecContext(ctx, sm.RunID, sm.SampleID, sc.Turn, sc.Scorer, sc.Value, sc.Answer); err != nil {
				return 0, fmt.Errorf("store score of %s: %w", sm.SampleID, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit samples: %w", err)
	}
	return added, nil
}

// DoneSamples returns the ids of the samples a run has stored.
func (s *Store) DoneSamples(ctx context.Context, runID string) (map[string]bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT sample_id FROM samples WHERE run_id=?`, runID)
	if err != nil {
		return nil, fmt.Errorf("read samples of %s: %w", runID, err)
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read samples of %s: %w", runID, err)
		}
		done[id] = true
	}
	return done, rows.Err()
}

// Samples returns a run's stored samples (data only, no scores), ordered
// by sample id.
func (s *Store) Samples(ctx context.Context, runID string) ([]Sample, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT sample_id, probe, data FROM samples WHERE run_id=? ORDER BY sample_id`, runID)
	if err != nil {
		return nil, fmt.Errorf("read samples of %s: %w", runID, err)
	}
	defer rows.Close()
	var out []Sample
	for rows.Next() {
		sm := Sample{RunID: runID}
		var data string
		if err := rows.Scan(&sm.SampleID, &sm.Probe, &data); err != nil {
			return nil, fmt.Errorf("read samples of %s: %w", runID, err)
		}
		sm.Data = []byte(data)
		out = append(out, sm)
	}
	return out, rows.Err()
}

// Scores returns the scores stored for one sample, by turn.
func (s *Store) Scores(ctx context.Context, runID, sampleID string) ([]Score, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT turn, scorer, value, answer FROM scores WHERE run_id=? AND sample_id=? ORDER BY turn, scorer`, runID, sampleID)
	if err != nil {
		return nil, fmt.Errorf("read scores of %s: %w", sampleID, err)
	}
	defer rows.Close()
	var out []Score
	for rows.Next() {
		var sc Score
		if err := rows.Scan(&sc.Turn, &sc.Scorer, &sc.Value, &sc.Answer); err != nil {
			return nil, fmt.Errorf("read scores of %s: %w", sampleID, err)
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}
