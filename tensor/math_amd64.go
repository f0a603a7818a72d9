//go:build amd64 && !purego

package tensor

import "unsafe"

// Go wrappers of the vector kernels in math_amd64.s: the assembly takes
// whole groups of 8 and the portable code finishes the tail.

//go:noescape
func expSum8(n int, dst, src *float32, shift float32) float32

//go:noescape
func max8(n int, x *float32) float32

//go:noescape
func gelu8(n int, out, inp *float32)

//go:noescape
func geluBack8(n int, dinp, inp, dout *float32)

//go:noescape
func swiglu8(n int, out, gate, up *float32)

//go:noescape
func swigluBack8(n int, dgate, dup, dout, gate, up *float32)

func expSumAVX2(dst, src []float32, shift float32) float32 {
	dst = dst[:len(src)]
	n8 := len(src) &^ 7
	var s float32
	if n8 > 0 {
		s = expSum8(n8, unsafe.SliceData(dst), unsafe.SliceData(src), shift)
	}
	return s + expSumGeneric(dst[n8:], src[n8:], shift)
}

func maxAVX2(x []float32) float32 {
	n8 := len(x) &^ 7
	if n8 == 0 {
		return maxGeneric(x)
	}
	m := max8(n8, unsafe.SliceData(x))
	if n8 < len(x) {
		t := maxGeneric(x[n8:])
		if t > m || t != t {
			m = t
		}
	}
	return m
}

func geluAVX2(out, inp []float32) {
	out = out[:len(inp)]
	n8 := len(inp) &^ 7
	if n8 > 0 {
		gelu8(n8, unsafe.SliceData(out), unsafe.SliceData(inp))
	}
	geluGeneric(out[n8:], inp[n8:])
}

func geluBackAVX2(dinp, inp, dout []float32) {
	dinp, dout = dinp[:len(inp)], dout[:len(inp)]
	n8 := len(inp) &^ 7
	if n8 > 0 {
		geluBack8(n8, unsafe.SliceData(dinp), unsafe.SliceData(inp), unsafe.SliceData(dout))
	}
	geluBackGeneric(dinp[n8:], inp[n8:], dout[n8:])
}

func swigluAVX2(out, gate, up []float32) {
	out, up = out[:len(gate)], up[:len(gate)]
	n8 := len(gate) &^ 7
	if n8 > 0 {
		swiglu8(n8, unsafe.SliceData(out), unsafe.SliceData(gate), unsafe.SliceData(up))
	}
	swigluGeneric(out[n8:], gate[n8:], up[n8:])
}

func swigluBackAVX2(dgate, dup, dout, gate, up []float32) {
	n := len(gate)
	dgate, dup, dout, up = dgate[:n], dup[:n], dout[:n], up[:n]
	n8 := n &^ 7
	if n8 > 0 {
		swigluBack8(n8, unsafe.SliceData(dgate), unsafe.SliceData(dup), unsafe.SliceData(dout), unsafe.SliceData(gate), unsafe.SliceData(up))
	}
	swigluBackGeneric(dgate[n8:], dup[n8:], dout[n8:], gate[n8:], up[n8:])
}
