package tensor

import "fmt"

// Dot returns the dot product of a and b, which must have equal lengths
// (attention scores q·k). It runs the kernel Kernel() names.
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("tensor.Dot: lengths %d and %d differ", len(a), len(b)))
	}
	return current.Load().dot(a, b)
}

// Axpy adds alpha·x to y elementwise (attention's weighted sum of values);
// x and y must have equal lengths.
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("tensor.Axpy: lengths %d and %d differ", len(x), len(y)))
	}
	current.Load().axpy(alpha, x, y)
}
