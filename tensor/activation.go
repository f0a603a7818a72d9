package tensor

// GELU (GPT-2's tanh approximation) and SiLU/SwiGLU (Llama). The tanh form
// is evaluated through the identity 0.5·(1 + tanh(u)) = sigmoid(2u), so
// one float32 exponential serves both directions, without the
// cancellation 1 - tanh² suffers near saturation: tanh' = 4·s·(1 - s).
// Long slices are split across Threads() goroutines.

// GELUForward applies GPT-2's tanh approximation of GELU: out = gelu(inp).
func GELUForward(out, inp []float32) {
	out = out[:len(inp)]
	kn := current.Load()
	parallelElems(len(inp), func(lo, hi int) { kn.gelu(out[lo:hi], inp[lo:hi]) })
}

// GELUBackward accumulates dout·gelu'(inp) into dinp.
func GELUBackward(dinp, inp, dout []float32) {
	dinp, dout = dinp[:len(inp)], dout[:len(inp)]
	kn := current.Load()
	parallelElems(len(inp), func(lo, hi int) { kn.geluBack(dinp[lo:hi], inp[lo:hi], dout[lo:hi]) })
}

// SiLU returns x·sigmoid(x).
func SiLU(x float32) float32 { return x / (1 + expf(-x)) }

// SwiGLUForward computes Llama's gated unit out = silu(gate)·up elementwise.
func SwiGLUForward(out, gate, up []float32) {
	out, up = out[:len(gate)], up[:len(gate)]
	kn := current.Load()
	parallelElems(len(gate), func(lo, hi int) { kn.swiglu(out[lo:hi], gate[lo:hi], up[lo:hi]) })
}

// SwiGLUBackward accumulates the gradients of SwiGLUForward into dgate and dup.
func SwiGLUBackward(dgate, dup, dout, gate, up []float32) {
	n := len(gate)
	dgate, dup, dout, up = dgate[:n], dup[:n], dout[:n], up[:n]
	kn := current.Load()
	parallelElems(n, func(lo, hi int) {
		kn.swigluBack(dgate[lo:hi], dup[lo:hi], dout[lo:hi], gate[lo:hi], up[lo:hi])
	})
}

// parallelElemsMin is the slice length from which elementwise kernels are
// split across threads (below it a goroutine costs more than it saves).
const parallelElemsMin = 1 << 15

// parallelElems runs fn over [0, n) in chunks, on several threads when n
// is large; chunk bounds are multiples of 8 so vector loops stay aligned
// to their tails.
func parallelElems(n int, fn func(lo, hi int)) {
	t := min(Threads(), n/parallelElemsMin)
	if t <= 1 {
		fn(0, n)
		return
	}
	chunk := roundUp(ceilDiv(n, t), 8)
	Parallel(ceilDiv(n, chunk), func(lo, hi int) {
		fn(lo*chunk, min(hi*chunk, n))
	})
}

// The portable kernels, also the scalar tails of the vector ones.

func geluGeneric(out, inp []float32) {
	out = out[:len(inp)]
	for i, x := range inp {
		// gelu(x) = x·sigmoid(2u), u = c·(x + k·x³)
		out[i] = x / (1 + expf(-gelu2C*x*(1+geluK*x*x)))
	}
}

func geluBackGeneric(dinp, inp, dout []float32) {
	dinp, dout = dinp[:len(inp)], dout[:len(inp)]
	for i, x := range inp {
		s := 1 / (1 + expf(-gelu2C*x*(1+geluK*x*x)))
		// d/dx x·s(2u) = s + x·2s(1-s)·u' with u' = c·(1 + 3k·x²)
		grad := s + x*s*(1-s)*gelu2C*(1+geluK3*x*x)
		dinp[i] += grad * dout[i]
	}
}

func swigluGeneric(out, gate, up []float32) {
	out, up = out[:len(gate)], up[:len(gate)]
	for i, g := range gate {
		out[i] = g * up[i] / (1 + expf(-g))
	}
}

func swigluBackGeneric(dgate, dup, dout, gate, up []float32) {
	n := len(gate)
	dgate, dup, dout, up = dgate[:n], dup[:n], dout[:n], up[:n]
	for i, g := range gate {
		sig := 1 / (1 + expf(-g))
		dup[i] += dout[i] * g * sig
		dgate[i] += dout[i] * up[i] * sig * (1 + g*(1-sig))
	}
}
