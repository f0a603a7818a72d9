//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Data given as a pipe is not hashed (reading it would leave nothing for
// the trainer); a file named twice is hashed once.
func TestInputDigestsSkipStreams(t *testing.T) {
	dir := t.TempDir()
	fifo, file := filepath.Join(dir, "fifo"), filepath.Join(dir, "data.jsonl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	os.WriteFile(file, []byte("{}\n"), 0o644)
	done := make(chan map[string]string, 1)
	go func() {
		d, err := inputDigests([]string{fifo, file, file, ""})
		if err != nil {
			t.Error(err)
		}
		done <- d
	}()
	select {
	case d := <-done:
		if len(d) != 1 || d[file] == "" {
			t.Errorf("digests %v, want the regular file's only", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("inputDigests blocked reading a named pipe")
	}
}
