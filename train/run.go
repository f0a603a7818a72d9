// Runs on disk: one directory per training run, shared by every trainer
// (SFT, DPO family, reward model, PPO, RLOO/GRPO).
//
//	runs/<id>/config.json               the run's options, written once at creation
//	runs/<id>/metrics.jsonl             one JSON object per log: {"step": N, "loss": ..., ...}
//	runs/<id>/checkpoints/step-<N>/     the complete trainer state after step N
//	runs/<id>/checkpoints/latest        the name of the newest complete checkpoint
//
// A checkpoint is written into a temporary directory and renamed into place
// only when every file is on disk, and "latest" is then replaced atomically,
// so a crash at any moment leaves the previous checkpoint intact. Resume
// reloads the newest checkpoint and cuts metrics.jsonl back to what had been
// logged at that step, so that the resumed run writes exactly the lines an
// uninterrupted run would have written.

package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/alignlab/alignlab/ckpt"
	"github.com/alignlab/alignlab/internal/textfile"
)

// Run file and directory names inside a run directory.
const (
	RunConfigFile  = "config.json"
	RunMetricsFile = "metrics.jsonl"
	RunCheckpoints = "checkpoints"
	// runStateFile, inside a checkpoint, holds what the Run itself needs to
	// resume (the step, the metrics offset, the logging window).
	runStateFile  = "run_state.json"
	latestFile    = "latest"
	checkpointPfx = "step-"
)

// Checkpointer is a trainer whose complete state (weights, optimizer
// moments, data order, random number generators, step counter) can be
// saved into a directory and restored from it, so that training resumed
// from a checkpoint continues exactly as if it had not stopped.
type Checkpointer interface {
	// SaveState writes the state into dir, which exists and is empty.
	SaveState(dir string) error
	// LoadState restores the state SaveState wrote into dir.
	LoadState(dir string) error
}

// Run is one training run's directory. It is not safe for concurrent use.
type Run struct {
	// Dir is the run directory, runs/<id>.
	Dir string
	// Progress, when not nil, receives a progress line with the main
	// metrics (the CLI sets it to os.Stderr).
	Progress io.Writer
	// SaveTotalLimit, when > 0, keeps only that many newest checkpoints
	// (TRL's save_total_limit).
	SaveTotalLimit int

	metrics    *os.File
	lock       *os.File // held while the run is open (lockRun)
	metricsOff int64    // bytes of metrics.jsonl written so far
	created    bool     // CreateRun made Dir (it did not exist before)
	trained    bool     // Train has been called
	progress   progressLine
	window     logWindow // metrics averaged since the last log line
}

// NewRunID returns a fresh run id: the method and the time, e.g.
// "dpo-20261126-205700".
func NewRunID(method string, now time.Time) string {
	return method + "-" + now.UTC().Format("20060102-150405")
}

// CreateRun makes a new run directory dir (its parent is created if
// missing) and writes config (any JSON-encodable value) to config.json. It
// refuses a directory that already holds a run: use OpenRun to resume it.
// The run is locked against other processes until Close.
func CreateRun(dir string, config any) (*Run, error) {
	exists := func() error {
		if _, err := os.Stat(filepath.Join(dir, RunConfigFile)); err == nil {
			return fmt.Errorf("create run %s: it already exists; resume it with --resume %s or choose another --run-dir", dir, dir)
		}
		return nil
	}
	if err := exists(); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(filepath.Join(dir, RunCheckpoints), 0o755); err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	lock, err := lockRun(dir)
	if err != nil {
		return nil, err
	}
	// Another process may have created the run between the check above
	// and taking the lock.
	if err := exists(); err != nil {
		lock.Close()
		return nil, err
	}
	if err := WriteJSON(filepath.Join(dir, RunConfigFile), config); err != nil {
		lock.Close()
		return nil, fmt.Errorf("create run: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, RunMetricsFile), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("create run: %w", err)
	}
	return &Run{Dir: dir, metrics: f, lock: lock, created: errors.Is(statErr, fs.ErrNotExist)}, nil
}

// OpenRun opens an existing run directory to resume it, locking it
// against other processes until Close, and removes what a process killed
// mid-write left behind (temporary checkpoint and model directories, a
// checkpoint half removed by pruning). Metrics are appended after
// whatever Resume keeps.
func OpenRun(dir string) (*Run, error) {
	if _, err := os.Stat(filepath.Join(dir, RunConfigFile)); err != nil {
		return nil, fmt.Errorf("open run %s: no %s (is this a run directory?): %w", dir, RunConfigFile, err)
	}
	lock, err := lockRun(dir)
	if err != nil {
		return nil, err
	}
	if err := removeLeftovers(dir); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open run %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, RunMetricsFile), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open run: %w", err)
	}
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		lock.Close()
		return nil, fmt.Errorf("open run: %w", err)
	}
	return &Run{Dir: dir, metrics: f, lock: lock, metricsOff: off}, nil
}

// tmpPfx starts the names of directories being written or removed; only a
// process killed midway leaves one behind.
const tmpPfx = ".tmp-"

// removeLeftovers deletes, in a run directory no process has open, the
// temporary directories of interrupted writes and the checkpoint
// directories that lack their run state (a checkpoint is renamed into
// place whole, so only an interrupted removal leaves one incomplete).
func removeLeftovers(dir string) error {
	for _, d := range []string{dir, filepath.Join(dir, RunCheckpoints)} {
		ents, err := os.ReadDir(d)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		for _, e := range ents {
			name := e.Name()
			stale := e.IsDir() && strings.HasPrefix(name, tmpPfx)
			if d != dir && e.IsDir() && strings.HasPrefix(name, checkpointPfx) {
				_, err := os.Stat(filepath.Join(d, name, runStateFile))
				stale = errors.Is(err, fs.ErrNotExist)
			}
			if stale {
				if err := os.RemoveAll(filepath.Join(d, name)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ReadConfig decodes the run's config.json into v.
func (r *Run) ReadConfig(v any) error {
	return ReadJSON(filepath.Join(r.Dir, RunConfigFile), v)
}

// Close closes the metrics file and releases the run's lock.
func (r *Run) Close() error {
	if r.metrics == nil {
		return nil
	}
	r.progress.finish(r.Progress)
	err := r.metrics.Close()
	r.metrics = nil
	if r.lock != nil {
		r.lock.Close()
		r.lock = nil
	}
	return err
}

// Discard closes the run and, if CreateRun made its directory and Train
// has not been called, removes the directory: for a command that fails
// while it sets up (a model without a tokenizer, data with no usable
// example), so that no run that never trained is left to list or resume.
// A run that existed before, or has started training, is only closed.
func (r *Run) Discard() error {
	err := r.Close()
	if !r.created || r.trained {
		return err
	}
	if rerr := os.RemoveAll(r.Dir); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// LogMetrics appends one line {"step": step, key: value, ...} to
// metrics.jsonl (keys sorted, so equal metrics give equal bytes) and
// updates the progress line. Non-finite values are written as null
// (JSON has no NaN).
func (r *Run) LogMetrics(step int, m map[string]float64) error {
	line := encodeMetrics(step, m)
	n, err := r.metrics.Write(line)
	r.metricsOff += int64(n)
	if err != nil {
		return fmt.Errorf("log metrics: %w", err)
	}
	return nil
}

// encodeMetrics renders one metrics line.
func encodeMetrics(step int, m map[string]float64) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "step" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	b := []byte(`{"step":`)
	b = strconv.AppendInt(b, int64(step), 10)
	for _, k := range keys {
		b = append(b, ',')
		kq, _ := json.Marshal(k)
		b = append(b, kq...)
		b = append(b, ':')
		b = appendFloat(b, m[k])
	}
	return append(b, '}', '\n')
}

// appendFloat writes v as JSON, in the shortest form that reads back to
// the same float64, or null when it is not finite.
func appendFloat(b []byte, v float64) []byte {
	if v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308 {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// ReadMetrics reads a run's metrics.jsonl: one map per line, with "step"
// among the keys (null values are NaN).
func ReadMetrics(dir string) ([]map[string]float64, error) {
	raw, err := textfile.ReadFile(filepath.Join(dir, RunMetricsFile))
	if err != nil {
		return nil, err
	}
	var out []map[string]float64
	for i, line := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		if line == "" {
			continue
		}
		var obj map[string]*float64
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", RunMetricsFile, i+1, err)
		}
		m := make(map[string]float64, len(obj))
		for k, v := range obj {
			if v == nil {
				m[k] = nan()
			} else {
				m[k] = *v
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// runState is what a checkpoint records for the Run itself.
type runState struct {
	Step          int       `json:"step"`
	MetricsOffset int64     `json:"metrics_offset"`
	Window        logWindow `json:"log_window"`
	Time          string    `json:"time"`
}

// CheckpointDir returns the directory of the checkpoint after step.
func (r *Run) CheckpointDir(step int) string {
	return filepath.Join(r.Dir, RunCheckpoints, fmt.Sprintf("%s%d", checkpointPfx, step))
}

// SaveCheckpoint writes s's state after step as checkpoints/step-<step>,
// atomically: into a temporary directory first, renamed into place when
// complete, then recorded in checkpoints/latest. A checkpoint of the same
// step is replaced. Older checkpoints beyond SaveTotalLimit are removed.
func (r *Run) SaveCheckpoint(step int, s Checkpointer) error {
	final := r.CheckpointDir(step)
	err := WriteDirAtomic(final, func(tmp string) error {
		if err := s.SaveState(tmp); err != nil {
			return err
		}
		if err := r.metrics.Sync(); err != nil {
			return err
		}
		st := runState{Step: step, MetricsOffset: r.metricsOff, Window: r.window, Time: time.Now().UTC().Format(time.RFC3339)}
		return WriteJSON(filepath.Join(tmp, runStateFile), st)
	})
	if err != nil {
		return fmt.Errorf("save checkpoint at step %d: %w", step, err)
	}
	root := filepath.Dir(final)
	err = ckpt.WriteAtomic(filepath.Join(root, latestFile), func(w io.Writer) error {
		_, err := io.WriteString(w, filepath.Base(final)+"\n")
		return err
	})
	if err != nil {
		return fmt.Errorf("save checkpoint at step %d: %w", step, err)
	}
	return r.prune()
}

// WriteDirAtomic has write fill a temporary directory beside dir (its
// parent is created if missing), then puts it in dir's place, replacing
// what was there: a process killed while writing leaves no dir that looks
// complete ('runs ls' takes a run with a model/ as done, resume takes a
// checkpoint with its run state as whole), only a temporary directory,
// which opening the run removes.
func WriteDirAtomic(dir string, write func(tmp string) error) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, tmpPfx+filepath.Base(dir)+"-")
	if err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	syncDir(parent)
	return nil
}

// prune removes the oldest checkpoints beyond SaveTotalLimit.
func (r *Run) prune() error {
	if r.SaveTotalLimit <= 0 {
		return nil
	}
	steps, err := r.Checkpoints()
	if err != nil {
		return err
	}
	for len(steps) > r.SaveTotalLimit {
		// Renamed out of the listing first, so that a kill during the
		// removal leaves a temporary directory (removed on resume), not
		// a checkpoint missing some of its files.
		old := r.CheckpointDir(steps[0])
		gone := filepath.Join(filepath.Dir(old), tmpPfx+"removed-"+filepath.Base(old))
		if err := os.Rename(old, gone); err != nil {
			return fmt.Errorf("remove old checkpoint: %w", err)
		}
		if err := os.RemoveAll(gone); err != nil {
			return fmt.Errorf("remove old checkpoint: %w", err)
		}
		steps = steps[1:]
	}
	return nil
}

// Checkpoints lists the steps of the complete checkpoints, oldest first.
func (r *Run) Checkpoints() ([]int, error) {
	ents, err := os.ReadDir(filepath.Join(r.Dir, RunCheckpoints))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var steps []int
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, checkpointPfx) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(name, checkpointPfx))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(r.Dir, RunCheckpoints, name, runStateFile)); err == nil {
			steps = append(steps, n)
		}
	}
	sort.Ints(steps)
	return steps, nil
}

// LatestCheckpoint returns the directory and step of the newest complete
// checkpoint; ok is false when the run has none.
func (r *Run) LatestCheckpoint() (dir string, step int, ok bool, err error) {
	raw, err := os.ReadFile(filepath.Join(r.Dir, RunCheckpoints, latestFile))
	if err == nil {
		name := strings.TrimSpace(string(raw))
		var st runState
		if e := ReadJSON(filepath.Join(r.Dir, RunCheckpoints, name, runStateFile), &st); e == nil {
			return filepath.Join(r.Dir, RunCheckpoints, name), st.Step, true, nil
		}
	}
	// No usable pointer (e.g. a crash between the rename and the pointer
	// update): fall back to the highest complete step.
	steps, err := r.Checkpoints()
	if err != nil {
		return "", 0, false, fmt.Errorf("list checkpoints: %w", err)
	}
	if len(steps) == 0 {
		return "", 0, false, nil
	}
	last := steps[len(steps)-1]
	return r.CheckpointDir(last), last, true, nil
}

// Resume restores s from the newest checkpoint and cuts metrics.jsonl back
// to what had been logged when it was taken. It returns the checkpoint's
// step. A run stopped before its first checkpoint starts again from step
// 0: s is left as built, fresh from the run's config as a new run's
// trainer is, and metrics.jsonl is emptied.
func (r *Run) Resume(s Checkpointer) (int, error) {
	dir, _, ok, err := r.LatestCheckpoint()
	if err != nil {
		return 0, fmt.Errorf("resume %s: %w", r.Dir, err)
	}
	if !ok {
		if err := r.truncateMetrics(0); err != nil {
			return 0, fmt.Errorf("resume %s: %w", r.Dir, err)
		}
		r.window = logWindow{}
		return 0, nil
	}
	var st runState
	if err := ReadJSON(filepath.Join(dir, runStateFile), &st); err != nil {
		return 0, fmt.Errorf("resume %s: %w", r.Dir, err)
	}
	if err := s.LoadState(dir); err != nil {
		return 0, fmt.Errorf("resume from %s: %w", dir, err)
	}
	if st.MetricsOffset > r.metricsOff {
		return 0, fmt.Errorf("resume %s: %s has %d bytes but the checkpoint logged %d; the file was truncated or replaced", r.Dir, RunMetricsFile, r.metricsOff, st.MetricsOffset)
	}
	if err := r.truncateMetrics(st.MetricsOffset); err != nil {
		return 0, fmt.Errorf("resume %s: %w", r.Dir, err)
	}
	r.window = st.Window
	return st.Step, nil
}

// truncateMetrics cuts metrics.jsonl to its first off bytes and appends
// after them.
func (r *Run) truncateMetrics(off int64) error {
	if err := r.metrics.Truncate(off); err != nil {
		return err
	}
	if _, err := r.metrics.Seek(off, io.SeekStart); err != nil {
		return err
	}
	r.metricsOff = off
	return nil
}

// WriteJSON writes v as indented JSON to path atomically.
func WriteJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return ckpt.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	})
}

// ReadJSON decodes the JSON file at path (a leading UTF-8 BOM skipped, as
// an editor may write one into a config.json) into v.
func ReadJSON(path string, v any) error {
	raw, err := textfile.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// syncDir makes a rename inside dir durable (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
