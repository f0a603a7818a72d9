//go:build unix

package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// runLockFile is the file a process holds an exclusive lock on while it
// has a run open.
const runLockFile = ".lock"

// lockRun takes an exclusive lock on dir's lock file, failing at once if
// another process holds it: two processes appending to one metrics.jsonl
// or checkpointing into one directory would corrupt both. The lock goes
// with the returned file (and with the process).
func lockRun(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, runLockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock run %s: %w", dir, err)
	}
	// RunInUse holds the lock shared for an instant ('runs ls'); a few
	// tries over a fifth of a second tell that from a training process.
	for try := 0; try < 20; try++ {
		if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("run %s is in use: another process is training it (wait for it to finish, or stop it first)", dir)
		}
		return nil, fmt.Errorf("lock run %s: %w", dir, err)
	}
	return f, nil
}

// RunInUse reports whether a process holds dir's run lock: the run is
// training now.
func RunInUse(dir string) bool {
	f, err := os.Open(filepath.Join(dir, runLockFile))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
