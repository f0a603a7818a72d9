//go:build !unix

package ckpt

import "os"

// mapFile does not map on this platform; reads go through ReadAt.
func mapFile(*os.File, int64) []byte { return nil }

func unmapFile([]byte) error { return nil }

func releasePages([]byte, int64, int64) {}

func adviseSequential([]byte) {}
