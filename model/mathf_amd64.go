//go:build amd64 && !purego

package model

import (
	"math"

	"golang.org/x/sys/cpu"
)

// vecTable holds the vector kernels' constants, each repeated in eight
// lanes (one ymm register, 32 bytes); mathf_amd64.s reads row i at 32·i.
var vecTable [17][8]float32

func init() {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return
	}
	for i, c := range []float32{
		-87.33, 88.7, // input clamp
		1.44269504088896341, 0.693359375, -2.12194440e-4, // log2(e), ln 2 in two parts
		1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
		1,
		math.Float32frombits(127), // exponent bias, as int32 lanes
		-2 * geluScale, 0.044715, 3 * 0.044715, 2 * geluScale,
	} {
		for j := range vecTable[i] {
			vecTable[i][j] = c
		}
	}
	expSubSumVec = func(x []float32, shift float32) (int, float64) {
		n := len(x) &^ 7
		if n == 0 {
			return 0, 0
		}
		return n, expSubSumAVX2(n, &x[0], shift, &vecTable)
	}
	geluForwardVec = func(out, inp []float32) int {
		n := len(inp) &^ 7
		if n == 0 {
			return 0
		}
		out = out[:n]
		geluForwardAVX2(n, &out[0], &inp[0], &vecTable)
		return n
	}
	geluBackwardVec = func(dinp, inp, dout []float32) int {
		n := len(inp) &^ 7
		if n == 0 {
			return 0
		}
		dinp, dout = dinp[:n], dout[:n]
		geluBackwardAVX2(n, &dinp[0], &inp[0], &dout[0], &vecTable)
		return n
	}
	swigluForwardVec = func(out, gate, up []float32) int {
		n := len(gate) &^ 7
		if n == 0 {
			return 0
		}
		out, up = out[:n], up[:n]
		swigluForwardAVX2(n, &out[0], &gate[0], &up[0], &vecTable)
		return n
	}
	swigluBackwardVec = func(dgate, dup, dout, gate, up []float32) int {
		n := len(gate) &^ 7
		if n == 0 {
			return 0
		}
		dgate, dup, dout, up = dgate[:n], dup[:n], dout[:n], up[:n]
		swigluBackwardAVX2(n, &dgate[0], &dup[0], &dout[0], &gate[0], &up[0], &vecTable)
		return n
	}
}

// expSubSumAVX2 replaces x[i] by e^(x[i]−shift) for n (a multiple of 8)
// floats and returns their sum, accumulated in float64.
//
//go:noescape
func expSubSumAVX2(n int, x *float32, shift float32, tab *[17][8]float32) float64

// geluForwardAVX2 writes out = gelu(inp) for n (a multiple of 8) floats.
//
//go:noescape
func geluForwardAVX2(n int, out, inp *float32, tab *[17][8]float32)

// geluBackwardAVX2 writes dinp = dout·gelu'(inp) for n (a multiple of 8)
// floats.
//
//go:noescape
func geluBackwardAVX2(n int, dinp, inp, dout *float32, tab *[17][8]float32)

// swigluForwardAVX2 writes out = silu(gate)·up for n (a multiple of 8)
// floats.
//
//go:noescape
func swigluForwardAVX2(n int, out, gate, up *float32, tab *[17][8]float32)

// swigluBackwardAVX2 writes dgate and dup from dout for n (a multiple of 8)
// floats.
//
//go:noescape
func swigluBackwardAVX2(n int, dgate, dup, dout, gate, up *float32, tab *[17][8]float32)
