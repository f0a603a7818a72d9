package tensor

import "math"

const geluScale = 0.7978845608028654 // sqrt(2/pi)

// GELUForward applies GPT-2's tanh approximation of GELU: out = gelu(inp).
func GELUForward(out, inp []float32) {
	for i, x := range inp {
		cube := 0.044715 * x * x * x
		out[i] = 0.5 * x * (1 + float32(math.Tanh(float64(geluScale*(x+cube)))))
	}
}

// GELUBackward accumulates dout·gelu'(inp) into dinp.
func GELUBackward(dinp, inp, dout []float32) {
	for i, x := range inp {
		cube := 0.044715 * x * x * x
		arg := geluScale * (x + cube)
		th := float32(math.Tanh(float64(arg)))
		sech2 := 1 - th*th
		grad := 0.5*(1+th) + 0.5*x*sech2*geluScale*(1+3*0.044715*x*x)
		dinp[i] += grad * dout[i]
	}
}

// SiLU returns x·sigmoid(x).
func SiLU(x float32) float32 { return x / (1 + float32(math.Exp(float64(-x)))) }

// SwiGLUForward computes Llama's gated unit out = silu(gate)·up elementwise.
func SwiGLUForward(out, gate, up []float32) {
	for i, g := range gate {
		out[i] = SiLU(g) * up[i]
	}
}

// SwiGLUBackward accumulates the gradients of SwiGLUForward into dgate and dup.
func SwiGLUBackward(dgate, dup, dout, gate, up []float32) {
	for i, g := range gate {
		sig := 1 / (1 + float32(math.Exp(float64(-g))))
		silu := g * sig
		dup[i] += dout[i] * silu
		dgate[i] += dout[i] * up[i] * sig * (1 + g*(1-sig))
	}
}
