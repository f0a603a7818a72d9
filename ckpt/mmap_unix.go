//go:build unix

// Memory-mapping for reading large checkpoints: the kernel pages tensor data
// in as it is converted, and pages already converted are dropped from the
// mapping again, so a load's resident memory stays near the size of the
// destination weights rather than twice it.

package ckpt

import (
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps size bytes of f read-only. It returns nil (and the caller
// falls back to ReadAt) for an empty file or where mapping fails.
func mapFile(f *os.File, size int64) []byte {
	if size <= 0 || size > math.MaxInt {
		return nil
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	return b
}

// unmapFile undoes mapFile.
func unmapFile(b []byte) error { return unix.Munmap(b) }

// releasePages tells the kernel that b[lo:hi] of a mapping will not be read
// again soon, so its pages leave the process's resident set (they stay in
// the page cache). The range is widened down and narrowed up to whole
// pages: a page shared with data read earlier is released with this step,
// one shared with the next step stays until that step. Releasing is only
// advice: a page touched again is faulted back in from the page cache.
func releasePages(b []byte, lo, hi int64) {
	ps := int64(os.Getpagesize())
	lo = max(lo, 0) / ps * ps
	if hi >= int64(len(b)) {
		hi = int64(len(b))
	} else {
		hi = hi / ps * ps
	}
	if hi > lo {
		_ = unix.Madvise(b[lo:hi], unix.MADV_DONTNEED)
	}
}

// adviseSequential asks for aggressive read-ahead over a mapping that is
// read mostly front to back.
func adviseSequential(b []byte) { _ = unix.Madvise(b, unix.MADV_SEQUENTIAL) }
