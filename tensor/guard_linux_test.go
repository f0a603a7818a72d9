//go:build linux

package tensor

// Bounds tests of the entry points that reach assembly: every operand of
// every call sits against a guard page (guardmem_linux_test.go), first
// ending at one, then starting at one, with each assembly kernel this CPU
// has, over lengths that reach every tail of the vector loops; results are
// checked against float64 references, so the tests check values as well
// as bounds. The matrix products are in guard_gemm_linux_test.go.

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// guardLengths reach every tail of the 8-, 16-, 32-, 48- and 64-element
// steps of the vector loops, and the two-vector step of expSum8.
var guardLengths = func() []int {
	var ns []int
	for n := 1; n <= 33; n++ {
		ns = append(ns, n)
	}
	return append(ns, 47, 48, 49, 63, 64, 65, 95, 96, 97, 127, 128, 129, 191, 192, 193, 255, 256, 257, 288, 289)
}()

// guardRand returns n values uniform in [-1, 1).
func guardRand(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// sumTol bounds the error of a float32 sum of n terms whose magnitudes
// add up to scale: a few roundings per term, more than any order of
// summation needs, far less than a term missed or counted twice.
func sumTol(n int, scale float64) float64 {
	return (2e-7*float64(n)+2e-6)*scale + 1e-30
}

// near checks got against want within tol (NaN never is), reporting the
// first element that is not.
func (c *guardCase) near(what string, got []float32, want, tol []float64) {
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); !(d <= tol[i]) {
			c.errorf("%s[%d] = %g, want %g (tolerance %.3g)", what, i, got[i], w, tol[i])
			return
		}
	}
}

// near1 checks one value.
func (c *guardCase) near1(what string, got float32, want, tol float64) {
	c.near(what, []float32{got}, []float64{want}, []float64{tol})
}

// same checks that got equals want exactly.
func same[T comparable](c *guardCase, what string, got, want []T) {
	for i, w := range want {
		if got[i] != w {
			c.errorf("%s[%d] = %v, want %v", what, i, got[i], w)
			return
		}
	}
}

// TestGuardCatchesStrayAccess checks the harness itself: a read one
// element past a slice that ends at a guard is recovered and attributed
// to the slice, and a write one element past one that starts at a guard
// is found in the poison.
func TestGuardCatchesStrayAccess(t *testing.T) {
	g := guardTest(t)
	g.reset(true)
	c := &guardCase{g: g, name: "read"}
	x := g.floats("x", make([]float32, 5))
	var sink float32
	c.call(func() { sink = *(*float32)(unsafe.Add(unsafe.Pointer(&x[4]), 4)) })
	if len(c.errs) != 1 || !strings.Contains(c.errs[0], "the end of x (20 bytes) + 0 bytes") {
		t.Fatalf("read past the end: errors %q (read %g), want one at the end of x", c.errs, sink)
	}
	t.Logf("reported: %s", c.errs[0])

	g.reset(false)
	c = &guardCase{g: g, name: "write"}
	y := g.floats("y", make([]float32, 5))
	c.call(func() { *(*float32)(unsafe.Add(unsafe.Pointer(&y[4]), 4)) = 1 })
	g.checkPoison(c)
	if len(c.errs) != 1 || !strings.Contains(c.errs[0], "y (20 bytes) written outside it, at its end + 0 bytes") {
		t.Fatalf("write past the end: errors %q, want one at the end of y", c.errs)
	}
	t.Logf("reported: %s", c.errs[0])
}

func TestGuardVector(t *testing.T) {
	g := guardTest(t)
	rng := rand.New(rand.NewSource(1))
	const alpha = 0.75
	for _, n := range guardLengths {
		a, b := guardRand(rng, n), guardRand(rng, n)
		var dot, dotAbs float64
		axpy, axpyTol := make([]float64, n), make([]float64, n)
		scal, scalTol := make([]float64, n), make([]float64, n)
		for i := range a {
			p := float64(a[i]) * float64(b[i])
			dot += p
			dotAbs += math.Abs(p)
			axpy[i] = float64(b[i]) + alpha*float64(a[i])
			axpyTol[i] = sumTol(2, math.Abs(float64(b[i]))+math.Abs(alpha*float64(a[i])))
			scal[i] = alpha * float64(a[i])
			scalTol[i] = sumTol(1, math.Abs(scal[i]))
		}
		g.run(t, fmt.Sprintf("Dot n=%d", n), false, func(c *guardCase) {
			c.near1("Dot", Dot(g.floats("a", a), g.floats("b", b)), dot, sumTol(n, dotAbs))
		})
		g.run(t, fmt.Sprintf("Axpy n=%d", n), false, func(c *guardCase) {
			y := g.floats("y", b)
			Axpy(alpha, g.floats("x", a), y)
			c.near("y", y, axpy, axpyTol)
		})
		g.run(t, fmt.Sprintf("Scale n=%d", n), false, func(c *guardCase) {
			x := g.floats("x", a)
			Scale(alpha, x)
			c.near("x", x, scal, scalTol)
		})
	}
}

func TestGuardHalfConversions(t *testing.T) {
	g := guardTest(t)
	rng := rand.New(rand.NewSource(2))
	for _, n := range guardLengths {
		f := make([]float32, n)
		h := make([]uint16, n)
		for i := range f {
			f[i] = float32(rng.NormFloat64() * 1000)
			h[i] = uint16(rng.Uint32())
			if h[i]&0x7c00 == 0x7c00 {
				h[i] &^= 0x3ff // Inf, not NaN: a NaN's bits may differ either way
			}
		}
		wantH, wantF := make([]uint16, n), make([]float32, n)
		for i := range f {
			wantH[i], wantF[i] = halfFromFloat(f[i]), halfToFloat(h[i])
		}
		g.run(t, fmt.Sprintf("FloatsToHalves n=%d", n), false, func(c *guardCase) {
			dst := g.halves("dst", make([]uint16, n))
			FloatsToHalves(dst, g.floats("src", f))
			same(c, "dst", dst, wantH)
		})
		g.run(t, fmt.Sprintf("HalvesToFloats n=%d", n), false, func(c *guardCase) {
			dst := g.floats("dst", make([]float32, n))
			HalvesToFloats(dst, g.halves("src", h))
			for i := range dst {
				if math.Float32bits(dst[i]) != math.Float32bits(wantF[i]) {
					c.errorf("dst[%d] = %g, want %g", i, dst[i], wantF[i])
					return
				}
			}
		})
	}
}

// TestGuardSoftmax covers Max, Softmax, LogSumExp (whose 512-float chunks
// the longer lengths cross) and ExpShift, apart and in place.
func TestGuardSoftmax(t *testing.T) {
	g := guardTest(t)
	rng := rand.New(rand.NewSource(3))
	for _, n := range append(slices.Clone(guardLengths), 511, 512, 513, 1031) {
		x := guardRand(rng, n)
		for i := range x {
			x[i] *= 8
		}
		mx := slices.Max(x)
		shift := mx - 0.5
		var sum, sumShift float64
		e, eTol := make([]float64, n), make([]float64, n)
		for i, v := range x {
			sum += math.Exp(float64(v - mx)) // the kernel's rounded argument
			e[i] = math.Exp(float64(v) - float64(shift))
			eTol[i] = 4e-6 * e[i] // the argument's rounding: up to 16 ulp
			sumShift += e[i]
		}
		p, pTol := make([]float64, n), make([]float64, n)
		for i, v := range x {
			p[i] = math.Exp(float64(v-mx)) / sum
			pTol[i] = sumTol(n, p[i])
		}
		lse := float64(mx) + math.Log(sum)
		g.run(t, fmt.Sprintf("Max n=%d", n), false, func(c *guardCase) {
			if got := Max(g.floats("x", x)); got != mx {
				c.errorf("Max = %g, want %g", got, mx)
			}
		})
		g.run(t, fmt.Sprintf("Softmax n=%d", n), false, func(c *guardCase) {
			y := g.floats("x", x)
			Softmax(y)
			c.near("x", y, p, pTol)
		})
		g.run(t, fmt.Sprintf("LogSumExp n=%d", n), false, func(c *guardCase) {
			c.near1("LogSumExp", LogSumExp(g.floats("x", x)), lse, sumTol(n, 1)+1e-6*math.Abs(lse))
		})
		g.run(t, fmt.Sprintf("ExpShift n=%d", n), false, func(c *guardCase) {
			dst := g.floats("dst", make([]float32, n))
			c.near1("sum", ExpShift(dst, g.floats("src", x), shift), sumShift, sumTol(n, 2*sumShift))
			c.near("dst", dst, e, eTol)
		})
		g.run(t, fmt.Sprintf("ExpShift in place n=%d", n), false, func(c *guardCase) {
			y := g.floats("x", x)
			c.near1("sum", ExpShift(y, y, shift), sumShift, sumTol(n, 2*sumShift))
			c.near("x", y, e, eTol)
		})
	}
}

// TestGuardSelect covers BlockSumsAtLeast and IndicesInRange with none,
// some and all of the elements selected (all: the vector kernel's last
// 8-wide store of indices ends at the end of dst).
func TestGuardSelect(t *testing.T) {
	g := guardTest(t)
	rng := rand.New(rand.NewSource(4))
	ranges := [][2]float32{{-0.3, 0.4}, {-2, 2}, {2, 3}}
	for _, n := range guardLengths {
		x := guardRand(rng, n)
		nb := (n + SumBlock - 1) / SumBlock
		sums, sumsTol := make([]float64, nb), make([]float64, nb)
		for i, v := range x {
			if v >= -0.3 {
				sums[i/SumBlock] += float64(v)
				sumsTol[i/SumBlock] += math.Abs(float64(v))
			}
		}
		for b := range sumsTol {
			sumsTol[b] = sumTol(SumBlock, sumsTol[b])
		}
		g.run(t, fmt.Sprintf("BlockSumsAtLeast n=%d", n), false, func(c *guardCase) {
			got := BlockSumsAtLeast(g.floats("sums", make([]float32, nb)), g.floats("x", x), -0.3)
			c.near("sums", got, sums, sumsTol)
		})
		for _, r := range ranges {
			var want []int32
			for i, v := range x {
				if v >= r[0] && v < r[1] {
					want = append(want, int32(i))
				}
			}
			g.run(t, fmt.Sprintf("IndicesInRange n=%d [%g, %g)", n, r[0], r[1]), false, func(c *guardCase) {
				dst := g.int32s("dst", n)
				k := IndicesInRange(dst, g.floats("x", x), r[0], r[1])
				if k != len(want) {
					c.errorf("%d indices, want %d", k, len(want))
					return
				}
				same(c, "dst", dst[:k], want)
			})
		}
	}
}

func TestGuardActivations(t *testing.T) {
	g := guardTest(t)
	rng := rand.New(rand.NewSource(5))
	for _, n := range guardLengths {
		guardActivations(t, g, rng, n, false)
	}
}

// guardActivations runs the GELU and SwiGLU passes over n elements.
func guardActivations(t *testing.T, g *guardMem, rng *rand.Rand, n int, logCalls bool) {
	x, up, dout, d0, d1 := guardRand(rng, n), guardRand(rng, n), guardRand(rng, n), guardRand(rng, n), guardRand(rng, n)
	for i := range x {
		x[i] *= 6
	}
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	gelu, geluTol := make([]float64, n), make([]float64, n)
	dGelu, dGeluTol := make([]float64, n), make([]float64, n)
	swi, swiTol := make([]float64, n), make([]float64, n)
	dGate, dGateTol := make([]float64, n), make([]float64, n)
	dUp, dUpTol := make([]float64, n), make([]float64, n)
	for i := range x {
		v, u, d := float64(x[i]), float64(up[i]), float64(dout[i])
		s := sig(gelu2C * v * (1 + geluK*v*v))
		gelu[i], geluTol[i] = v*s, 1e-5*math.Abs(v*s)+1e-30
		slope := v * s * (1 - s) * gelu2C * (1 + geluK3*v*v)
		dGelu[i] = float64(d0[i]) + d*(s+slope)
		dGeluTol[i] = 1e-5 * (math.Abs(float64(d0[i])) + math.Abs(d)*(s+math.Abs(slope)))
		sg := sig(v)
		swi[i], swiTol[i] = v*u*sg, 1e-5*math.Abs(v*u*sg)+1e-30
		dUp[i] = float64(d1[i]) + d*v*sg
		dUpTol[i] = 1e-5 * (math.Abs(float64(d1[i])) + math.Abs(d*v*sg))
		dGate[i] = float64(d0[i]) + d*u*sg*(1+v*(1-sg))
		dGateTol[i] = 1e-5 * (math.Abs(float64(d0[i])) + math.Abs(d*u*sg)*(1+math.Abs(v)*(1-sg)))
	}
	g.run(t, fmt.Sprintf("GELUForward n=%d", n), logCalls, func(c *guardCase) {
		out := g.floats("out", make([]float32, n))
		GELUForward(out, g.floats("inp", x))
		c.near("out", out, gelu, geluTol)
	})
	g.run(t, fmt.Sprintf("GELUBackward n=%d", n), logCalls, func(c *guardCase) {
		dinp := g.floats("dinp", d0)
		GELUBackward(dinp, g.floats("inp", x), g.floats("dout", dout))
		c.near("dinp", dinp, dGelu, dGeluTol)
	})
	g.run(t, fmt.Sprintf("SwiGLUForward n=%d", n), logCalls, func(c *guardCase) {
		out := g.floats("out", make([]float32, n))
		SwiGLUForward(out, g.floats("gate", x), g.floats("up", up))
		c.near("out", out, swi, swiTol)
	})
	g.run(t, fmt.Sprintf("SwiGLUBackward n=%d", n), logCalls, func(c *guardCase) {
		dgate, dup := g.floats("dgate", d0), g.floats("dup", d1)
		SwiGLUBackward(dgate, dup, g.floats("dout", dout), g.floats("gate", x), g.floats("up", up))
		c.near("dgate", dgate, dGate, dGateTol)
		c.near("dup", dup, dUp, dUpTol)
	})
}

// TestGuardRMSNorm covers RMSNormForward, whose sum of squares is the dot
// kernel, and RMSNormBackward. (LayerNorm is plain Go throughout.)
func TestGuardRMSNorm(t *testing.T) {
	g := guardTest(t)
	rng := rand.New(rand.NewSource(6))
	for _, rows := range []int{1, 3} {
		for _, dim := range guardLengths {
			guardRMSNorm(t, g, rng, rows, dim, false)
		}
	}
}

// guardRMSNorm runs the RMSNorm passes over rows rows of dim.
func guardRMSNorm(t *testing.T, g *guardMem, rng *rand.Rand, rows, dim int, logCalls bool) {
	const eps = 1e-5
	n := rows * dim
	inp, w, dout, dinp0, dw0 := guardRand(rng, n), guardRand(rng, dim), guardRand(rng, n), guardRand(rng, n), guardRand(rng, dim)
	out, outTol := make([]float64, n), make([]float64, n)
	rstd, rstdTol := make([]float64, rows), make([]float64, rows)
	rstd32 := make([]float32, rows)
	dinp, dinpTol := make([]float64, n), make([]float64, n)
	dw, dwTol := make([]float64, dim), make([]float64, dim)
	for i := range dw {
		dw[i], dwTol[i] = float64(dw0[i]), math.Abs(float64(dw0[i]))
	}
	for r := 0; r < rows; r++ {
		x, gr := inp[r*dim:(r+1)*dim], dout[r*dim:(r+1)*dim]
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		s := 1 / math.Sqrt(ss/float64(dim)+eps)
		rstd[r], rstdTol[r], rstd32[r] = s, sumTol(dim, s), float32(s)
		s = float64(rstd32[r]) // backward reads the stored value
		var cs, csAbs float64
		for i, v := range x {
			o := float64(v) * float64(rstd32[r]) * float64(w[i])
			out[r*dim+i], outTol[r*dim+i] = o, sumTol(dim, math.Abs(o))
			p := float64(gr[i]) * float64(w[i]) * float64(v)
			cs += p
			csAbs += math.Abs(p)
		}
		c, cAbs := cs*s*s*s/float64(dim), csAbs*s*s*s/float64(dim)
		for i, v := range x {
			xv, gv, wv, d := float64(v), float64(gr[i]), float64(w[i]), float64(dinp0[r*dim+i])
			dinp[r*dim+i] = d + gv*wv*s - xv*c
			dinpTol[r*dim+i] = sumTol(dim, math.Abs(d)+math.Abs(gv*wv*s)+math.Abs(xv)*cAbs)
			dw[i] += gv * xv * s
			dwTol[i] += math.Abs(gv * xv * s)
		}
	}
	for i := range dwTol {
		dwTol[i] = sumTol(rows+dim, dwTol[i])
	}
	name := fmt.Sprintf("rows=%d dim=%d", rows, dim)
	g.run(t, "RMSNormForward "+name, logCalls, func(c *guardCase) {
		o, rs := g.floats("out", make([]float32, n)), g.floats("rstd", make([]float32, rows))
		RMSNormForward(o, rs, g.floats("inp", inp), g.floats("weight", w), rows, dim, eps)
		c.near("out", o, out, outTol)
		c.near("rstd", rs, rstd, rstdTol)
	})
	g.run(t, "RMSNormBackward "+name, logCalls, func(c *guardCase) {
		di, dwt := g.floats("dinp", dinp0), g.floats("dweight", dw0)
		RMSNormBackward(di, dwt, g.floats("dout", dout), g.floats("inp", inp), g.floats("weight", w), g.floats("rstd", rstd32), rows, dim)
		c.near("dinp", di, dinp, dinpTol)
		c.near("dweight", dwt, dw, dwTol)
	})
}
