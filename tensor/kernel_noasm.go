//go:build !amd64 || purego

package tensor

// archKernels has no assembly kernels to offer on this architecture or
// under the purego build tag; the portable kernel runs.
func archKernels() []*kernel { return nil }
