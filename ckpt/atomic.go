package ckpt

import (
	"io"

	"github.com/alignlab/alignlab/internal/atomicfile"
)

// WriteAtomic writes a file through write so that path holds either its old
// contents or the complete new ones, never a torn file: the data goes to a
// temporary file in the same directory, is flushed and fsynced, then renamed
// over path, and the directory is synced so the rename survives a crash.
func WriteAtomic(path string, write func(w io.Writer) error) error {
	return atomicfile.Write(path, write)
}
