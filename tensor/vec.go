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

// MatVec sets out[j] = x · w[j*ldw : j*ldw+len(x)] for every j < len(out),
// on the calling goroutine (attention scores q·k_t over a block of keys,
// inside a caller that is already parallel). ldw must be at least len(x).
func MatVec(x, w []float32, ldw int, out []float32) {
	if len(out) == 0 {
		return
	}
	if ldw < len(x) || len(w) < (len(out)-1)*ldw+len(x) {
		panic(fmt.Sprintf("tensor.MatVec: %d rows of %d with stride %d need more than %d weights", len(out), len(x), ldw, len(w)))
	}
	matvec(current.Load(), x, w, ldw, out)
}

// VecMat sets out = Σ_t a[t] · w[t*ldw : t*ldw+len(out)] over t < len(a),
// on the calling goroutine (attention's weighted sum of value rows). ldw
// must be at least len(out).
func VecMat(a, w []float32, ldw int, out []float32) {
	if len(a) == 0 {
		clear(out)
		return
	}
	if ldw < len(out) || len(w) < (len(a)-1)*ldw+len(out) {
		panic(fmt.Sprintf("tensor.VecMat: %d rows of %d with stride %d need more than %d weights", len(a), len(out), ldw, len(w)))
	}
	vecmat(current.Load(), a, w, ldw, out)
}

// vecmatGo is the portable VecMat.
func vecmatGo(kn *kernel, a, w []float32, ldw int, out []float32) {
	clear(out)
	n := len(out)
	for t, s := range a {
		kn.axpy(s, w[t*ldw:t*ldw+n], out)
	}
}

// Scale multiplies x by alpha in place.
func Scale(alpha float32, x []float32) {
	current.Load().scal(alpha, x)
}
