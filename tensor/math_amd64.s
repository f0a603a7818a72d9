//go:build amd64 && !purego

#include "textflag.h"

// Vector float32 exp, softmax and activation kernels, 8 lanes at a time.
// The exp is the same Cephes algorithm as expf in math32.go (see there).
// Callers pass n as a multiple of 8; the Go wrappers do the tails.

DATA expLo<>+0(SB)/4, $0xc2aeac50
DATA expLo<>+4(SB)/4, $0xc2aeac50
DATA expLo<>+8(SB)/4, $0xc2aeac50
DATA expLo<>+12(SB)/4, $0xc2aeac50
DATA expLo<>+16(SB)/4, $0xc2aeac50
DATA expLo<>+20(SB)/4, $0xc2aeac50
DATA expLo<>+24(SB)/4, $0xc2aeac50
DATA expLo<>+28(SB)/4, $0xc2aeac50
GLOBL expLo<>(SB), RODATA|NOPTR, $32

DATA expHi<>+0(SB)/4, $0x42b00000
DATA expHi<>+4(SB)/4, $0x42b00000
DATA expHi<>+8(SB)/4, $0x42b00000
DATA expHi<>+12(SB)/4, $0x42b00000
DATA expHi<>+16(SB)/4, $0x42b00000
DATA expHi<>+20(SB)/4, $0x42b00000
DATA expHi<>+24(SB)/4, $0x42b00000
DATA expHi<>+28(SB)/4, $0x42b00000
GLOBL expHi<>(SB), RODATA|NOPTR, $32

DATA log2e<>+0(SB)/4, $0x3fb8aa3b
DATA log2e<>+4(SB)/4, $0x3fb8aa3b
DATA log2e<>+8(SB)/4, $0x3fb8aa3b
DATA log2e<>+12(SB)/4, $0x3fb8aa3b
DATA log2e<>+16(SB)/4, $0x3fb8aa3b
DATA log2e<>+20(SB)/4, $0x3fb8aa3b
DATA log2e<>+24(SB)/4, $0x3fb8aa3b
DATA log2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL log2e<>(SB), RODATA|NOPTR, $32

DATA ln2Hi<>+0(SB)/4, $0x3f318000
DATA ln2Hi<>+4(SB)/4, $0x3f318000
DATA ln2Hi<>+8(SB)/4, $0x3f318000
DATA ln2Hi<>+12(SB)/4, $0x3f318000
DATA ln2Hi<>+16(SB)/4, $0x3f318000
DATA ln2Hi<>+20(SB)/4, $0x3f318000
DATA ln2Hi<>+24(SB)/4, $0x3f318000
DATA ln2Hi<>+28(SB)/4, $0x3f318000
GLOBL ln2Hi<>(SB), RODATA|NOPTR, $32

DATA ln2Lo<>+0(SB)/4, $0xb95e8083
DATA ln2Lo<>+4(SB)/4, $0xb95e8083
DATA ln2Lo<>+8(SB)/4, $0xb95e8083
DATA ln2Lo<>+12(SB)/4, $0xb95e8083
DATA ln2Lo<>+16(SB)/4, $0xb95e8083
DATA ln2Lo<>+20(SB)/4, $0xb95e8083
DATA ln2Lo<>+24(SB)/4, $0xb95e8083
DATA ln2Lo<>+28(SB)/4, $0xb95e8083
GLOBL ln2Lo<>(SB), RODATA|NOPTR, $32

DATA expP0<>+0(SB)/4, $0x39506967
DATA expP0<>+4(SB)/4, $0x39506967
DATA expP0<>+8(SB)/4, $0x39506967
DATA expP0<>+12(SB)/4, $0x39506967
DATA expP0<>+16(SB)/4, $0x39506967
DATA expP0<>+20(SB)/4, $0x39506967
DATA expP0<>+24(SB)/4, $0x39506967
DATA expP0<>+28(SB)/4, $0x39506967
GLOBL expP0<>(SB), RODATA|NOPTR, $32

DATA expP1<>+0(SB)/4, $0x3ab743ce
DATA expP1<>+4(SB)/4, $0x3ab743ce
DATA expP1<>+8(SB)/4, $0x3ab743ce
DATA expP1<>+12(SB)/4, $0x3ab743ce
DATA expP1<>+16(SB)/4, $0x3ab743ce
DATA expP1<>+20(SB)/4, $0x3ab743ce
DATA expP1<>+24(SB)/4, $0x3ab743ce
DATA expP1<>+28(SB)/4, $0x3ab743ce
GLOBL expP1<>(SB), RODATA|NOPTR, $32

DATA expP2<>+0(SB)/4, $0x3c088908
DATA expP2<>+4(SB)/4, $0x3c088908
DATA expP2<>+8(SB)/4, $0x3c088908
DATA expP2<>+12(SB)/4, $0x3c088908
DATA expP2<>+16(SB)/4, $0x3c088908
DATA expP2<>+20(SB)/4, $0x3c088908
DATA expP2<>+24(SB)/4, $0x3c088908
DATA expP2<>+28(SB)/4, $0x3c088908
GLOBL expP2<>(SB), RODATA|NOPTR, $32

DATA expP3<>+0(SB)/4, $0x3d2aa9c1
DATA expP3<>+4(SB)/4, $0x3d2aa9c1
DATA expP3<>+8(SB)/4, $0x3d2aa9c1
DATA expP3<>+12(SB)/4, $0x3d2aa9c1
DATA expP3<>+16(SB)/4, $0x3d2aa9c1
DATA expP3<>+20(SB)/4, $0x3d2aa9c1
DATA expP3<>+24(SB)/4, $0x3d2aa9c1
DATA expP3<>+28(SB)/4, $0x3d2aa9c1
GLOBL expP3<>(SB), RODATA|NOPTR, $32

DATA expP4<>+0(SB)/4, $0x3e2aaaaa
DATA expP4<>+4(SB)/4, $0x3e2aaaaa
DATA expP4<>+8(SB)/4, $0x3e2aaaaa
DATA expP4<>+12(SB)/4, $0x3e2aaaaa
DATA expP4<>+16(SB)/4, $0x3e2aaaaa
DATA expP4<>+20(SB)/4, $0x3e2aaaaa
DATA expP4<>+24(SB)/4, $0x3e2aaaaa
DATA expP4<>+28(SB)/4, $0x3e2aaaaa
GLOBL expP4<>(SB), RODATA|NOPTR, $32

DATA expP5<>+0(SB)/4, $0x3f000000
DATA expP5<>+4(SB)/4, $0x3f000000
DATA expP5<>+8(SB)/4, $0x3f000000
DATA expP5<>+12(SB)/4, $0x3f000000
DATA expP5<>+16(SB)/4, $0x3f000000
DATA expP5<>+20(SB)/4, $0x3f000000
DATA expP5<>+24(SB)/4, $0x3f000000
DATA expP5<>+28(SB)/4, $0x3f000000
GLOBL expP5<>(SB), RODATA|NOPTR, $32

DATA one<>+0(SB)/4, $0x3f800000
DATA one<>+4(SB)/4, $0x3f800000
DATA one<>+8(SB)/4, $0x3f800000
DATA one<>+12(SB)/4, $0x3f800000
DATA one<>+16(SB)/4, $0x3f800000
DATA one<>+20(SB)/4, $0x3f800000
DATA one<>+24(SB)/4, $0x3f800000
DATA one<>+28(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $32

DATA bias127<>+0(SB)/4, $0x0000007f
DATA bias127<>+4(SB)/4, $0x0000007f
DATA bias127<>+8(SB)/4, $0x0000007f
DATA bias127<>+12(SB)/4, $0x0000007f
DATA bias127<>+16(SB)/4, $0x0000007f
DATA bias127<>+20(SB)/4, $0x0000007f
DATA bias127<>+24(SB)/4, $0x0000007f
DATA bias127<>+28(SB)/4, $0x0000007f
GLOBL bias127<>(SB), RODATA|NOPTR, $32

DATA geluK<>+0(SB)/4, $0x3d372713
DATA geluK<>+4(SB)/4, $0x3d372713
DATA geluK<>+8(SB)/4, $0x3d372713
DATA geluK<>+12(SB)/4, $0x3d372713
DATA geluK<>+16(SB)/4, $0x3d372713
DATA geluK<>+20(SB)/4, $0x3d372713
DATA geluK<>+24(SB)/4, $0x3d372713
DATA geluK<>+28(SB)/4, $0x3d372713
GLOBL geluK<>(SB), RODATA|NOPTR, $32

DATA geluK3<>+0(SB)/4, $0x3e095d4f
DATA geluK3<>+4(SB)/4, $0x3e095d4f
DATA geluK3<>+8(SB)/4, $0x3e095d4f
DATA geluK3<>+12(SB)/4, $0x3e095d4f
DATA geluK3<>+16(SB)/4, $0x3e095d4f
DATA geluK3<>+20(SB)/4, $0x3e095d4f
DATA geluK3<>+24(SB)/4, $0x3e095d4f
DATA geluK3<>+28(SB)/4, $0x3e095d4f
GLOBL geluK3<>(SB), RODATA|NOPTR, $32

DATA gelu2C<>+0(SB)/4, $0x3fcc422a
DATA gelu2C<>+4(SB)/4, $0x3fcc422a
DATA gelu2C<>+8(SB)/4, $0x3fcc422a
DATA gelu2C<>+12(SB)/4, $0x3fcc422a
DATA gelu2C<>+16(SB)/4, $0x3fcc422a
DATA gelu2C<>+20(SB)/4, $0x3fcc422a
DATA gelu2C<>+24(SB)/4, $0x3fcc422a
DATA gelu2C<>+28(SB)/4, $0x3fcc422a
GLOBL gelu2C<>(SB), RODATA|NOPTR, $32

DATA geluN2C<>+0(SB)/4, $0xbfcc422a
DATA geluN2C<>+4(SB)/4, $0xbfcc422a
DATA geluN2C<>+8(SB)/4, $0xbfcc422a
DATA geluN2C<>+12(SB)/4, $0xbfcc422a
DATA geluN2C<>+16(SB)/4, $0xbfcc422a
DATA geluN2C<>+20(SB)/4, $0xbfcc422a
DATA geluN2C<>+24(SB)/4, $0xbfcc422a
DATA geluN2C<>+28(SB)/4, $0xbfcc422a
GLOBL geluN2C<>(SB), RODATA|NOPTR, $32

// EXP replaces Y0 with exp(Y0), using Y1..Y5 as scratch. Lanes below
// expLo (including -Inf) become 0; NaN stays NaN.
#define EXP \
	VMOVUPS expLo<>(SB), Y3; \
	VCMPPS $0x11, Y3, Y0, Y4; \
	VMAXPS Y0, Y3, Y0; \
	VMOVUPS expHi<>(SB), Y3; \
	VMINPS Y0, Y3, Y0; \
	VMULPS log2e<>(SB), Y0, Y1; \
	VROUNDPS $0, Y1, Y1; \
	VFNMADD231PS ln2Hi<>(SB), Y1, Y0; \
	VFNMADD231PS ln2Lo<>(SB), Y1, Y0; \
	VMOVUPS expP0<>(SB), Y2; \
	VFMADD213PS expP1<>(SB), Y0, Y2; \
	VFMADD213PS expP2<>(SB), Y0, Y2; \
	VFMADD213PS expP3<>(SB), Y0, Y2; \
	VFMADD213PS expP4<>(SB), Y0, Y2; \
	VFMADD213PS expP5<>(SB), Y0, Y2; \
	VMULPS Y0, Y0, Y3; \
	VFMADD213PS Y0, Y3, Y2; \
	VADDPS one<>(SB), Y2, Y2; \
	VCVTPS2DQ Y1, Y1; \
	VPADDD bias127<>(SB), Y1, Y1; \
	VPSLLD $23, Y1, Y1; \
	VMULPS Y1, Y2, Y0; \
	VANDNPS Y0, Y4, Y0

// EXP2 is EXP on Y0 and Y8 at once (scratch Y1..Y4 and Y9..Y12), the two
// chains' instructions alternating so that each fills the other's
// latency: one exp is a chain of about twenty dependent steps.
#define EXP2 \
	VMOVUPS expLo<>(SB), Y3; \
	VCMPPS $0x11, Y3, Y0, Y4; \
	VCMPPS $0x11, Y3, Y8, Y12; \
	VMAXPS Y0, Y3, Y0; \
	VMAXPS Y8, Y3, Y8; \
	VMOVUPS expHi<>(SB), Y3; \
	VMINPS Y0, Y3, Y0; \
	VMINPS Y8, Y3, Y8; \
	VMULPS log2e<>(SB), Y0, Y1; \
	VMULPS log2e<>(SB), Y8, Y9; \
	VROUNDPS $0, Y1, Y1; \
	VROUNDPS $0, Y9, Y9; \
	VFNMADD231PS ln2Hi<>(SB), Y1, Y0; \
	VFNMADD231PS ln2Hi<>(SB), Y9, Y8; \
	VFNMADD231PS ln2Lo<>(SB), Y1, Y0; \
	VFNMADD231PS ln2Lo<>(SB), Y9, Y8; \
	VMOVUPS expP0<>(SB), Y2; \
	VMOVUPS Y2, Y10; \
	VFMADD213PS expP1<>(SB), Y0, Y2; \
	VFMADD213PS expP1<>(SB), Y8, Y10; \
	VFMADD213PS expP2<>(SB), Y0, Y2; \
	VFMADD213PS expP2<>(SB), Y8, Y10; \
	VFMADD213PS expP3<>(SB), Y0, Y2; \
	VFMADD213PS expP3<>(SB), Y8, Y10; \
	VFMADD213PS expP4<>(SB), Y0, Y2; \
	VFMADD213PS expP4<>(SB), Y8, Y10; \
	VFMADD213PS expP5<>(SB), Y0, Y2; \
	VFMADD213PS expP5<>(SB), Y8, Y10; \
	VMULPS Y0, Y0, Y3; \
	VMULPS Y8, Y8, Y11; \
	VFMADD213PS Y0, Y3, Y2; \
	VFMADD213PS Y8, Y11, Y10; \
	VADDPS one<>(SB), Y2, Y2; \
	VADDPS one<>(SB), Y10, Y10; \
	VCVTPS2DQ Y1, Y1; \
	VCVTPS2DQ Y9, Y9; \
	VPADDD bias127<>(SB), Y1, Y1; \
	VPADDD bias127<>(SB), Y9, Y9; \
	VPSLLD $23, Y1, Y1; \
	VPSLLD $23, Y9, Y9; \
	VMULPS Y1, Y2, Y0; \
	VMULPS Y9, Y10, Y8; \
	VANDNPS Y0, Y4, Y0; \
	VANDNPS Y8, Y12, Y8

// func expSum8(n int, dst, src *float32, shift float32) float32
// dst[i] = exp(src[i] - shift) for i < n (a multiple of 8); returns the sum.
// Sixteen at a time (EXP2), then a last eight: over 32000 logits (a
// sampling step's vocabulary) 15–17 µs against 17–20 one vector at a time,
// with the same results bit for bit (the same two partial sums).
TEXT ·expSum8(SB), NOSPLIT, $0-36
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	VBROADCASTSS shift+24(FP), Y7
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	SHRQ $3, CX
	MOVQ CX, DX
	SHRQ $1, DX
	JZ   esone

esloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y8
	VSUBPS Y7, Y0, Y0
	VSUBPS Y7, Y8, Y8
	EXP2
	VMOVUPS Y0, (DI)
	VMOVUPS Y8, 32(DI)
	VADDPS Y0, Y14, Y14
	VADDPS Y8, Y15, Y15
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ DX
	JNZ  esloop

esone:
	ANDQ $1, CX
	JZ   esdone
	VMOVUPS (SI), Y0
	VSUBPS Y7, Y0, Y0
	EXP
	VMOVUPS Y0, (DI)
	VADDPS Y0, Y14, Y14

esdone:
	VADDPS Y15, Y14, Y8
	VEXTRACTF128 $1, Y8, X0
	VADDPS X0, X8, X8
	VPERMILPS $0x0E, X8, X0
	VADDPS X0, X8, X8
	VPERMILPS $0x01, X8, X0
	VADDSS X0, X8, X8
	VMOVSS X8, ret+32(FP)
	VZEROUPPER
	RET

// func max8(n int, x *float32) float32
// Largest of x[0:n], n a positive multiple of 8; NaN if any element is.
// VMAXPS drops a NaN in one operand order, so NaNs are tracked in a mask.
TEXT ·max8(SB), NOSPLIT, $0-20
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VMOVUPS (SI), Y0
	VCMPPS $3, Y0, Y0, Y1 // unordered: NaN lanes
	ADDQ $32, SI
	SHRQ $3, CX
	DECQ CX
	JZ   mxdone

mxloop:
	VMOVUPS (SI), Y2
	VMAXPS Y0, Y2, Y0
	VCMPPS $3, Y2, Y2, Y3
	VORPS Y3, Y1, Y1
	ADDQ $32, SI
	DECQ CX
	JNZ  mxloop

mxdone:
	VMOVMSKPS Y1, AX
	TESTL AX, AX
	JNZ   mxnan
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X0, X1, X0
	VPERMILPS $0x0E, X0, X1
	VMAXPS X0, X1, X0
	VPERMILPS $0x01, X0, X1
	VMAXSS X0, X1, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

mxnan:
	MOVL $0x7fc00000, ret+16(FP)
	VZEROUPPER
	RET

// GELUARG sets Y0 = -2u(Y6) = -2c·x·(1 + k·x²) for x in Y6.
#define GELUARG \
	VMULPS Y6, Y6, Y0; \
	VMOVUPS geluK<>(SB), Y1; \
	VFMADD213PS one<>(SB), Y1, Y0; \
	VMULPS Y6, Y0, Y0; \
	VMULPS geluN2C<>(SB), Y0, Y0

// func gelu8(n int, out, inp *float32)
// out = x / (1 + exp(-2u)), n a multiple of 8.
TEXT ·gelu8(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ out+8(FP), DI
	MOVQ inp+16(FP), SI
	SHRQ $3, CX
	JZ   gfdone
	VMOVUPS one<>(SB), Y15

gfloop:
	VMOVUPS (SI), Y6
	GELUARG
	EXP
	VADDPS Y15, Y0, Y0
	VDIVPS Y0, Y6, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  gfloop

gfdone:
	VZEROUPPER
	RET

// func geluBack8(n int, dinp, inp, dout *float32)
// dinp += dout · (s + x·s(1-s)·2c(1 + 3k·x²)), s = 1/(1+exp(-2u)).
TEXT ·geluBack8(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ dinp+8(FP), DI
	MOVQ inp+16(FP), SI
	MOVQ dout+24(FP), DX
	SHRQ $3, CX
	JZ   gbdone
	VMOVUPS one<>(SB), Y15

gbloop:
	VMOVUPS (SI), Y6
	GELUARG
	EXP
	VADDPS Y15, Y0, Y0
	VDIVPS Y0, Y15, Y7       // s
	VSUBPS Y7, Y15, Y8       // 1 - s
	VMULPS Y8, Y7, Y8        // s(1-s)
	VMULPS Y6, Y8, Y8        // x·s(1-s)
	VMULPS Y6, Y6, Y9        // x²
	VMOVUPS geluK3<>(SB), Y10
	VFMADD213PS one<>(SB), Y10, Y9 // 1 + 3k·x²
	VMULPS gelu2C<>(SB), Y9, Y9
	VFMADD213PS Y7, Y9, Y8   // s + x·s(1-s)·2c(1+3kx²)
	VMOVUPS (DI), Y10
	VFMADD231PS (DX), Y8, Y10
	VMOVUPS Y10, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ  gbloop

gbdone:
	VZEROUPPER
	RET

// func swiglu8(n int, out, gate, up *float32)
// out = g·up / (1 + exp(-g)).
TEXT ·swiglu8(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ out+8(FP), DI
	MOVQ gate+16(FP), SI
	MOVQ up+24(FP), DX
	SHRQ $3, CX
	JZ   sfdone
	VMOVUPS one<>(SB), Y15
	VXORPS Y14, Y14, Y14

sfloop:
	VMOVUPS (SI), Y6
	VSUBPS Y6, Y14, Y0
	EXP
	VADDPS Y15, Y0, Y0
	VMULPS (DX), Y6, Y7
	VDIVPS Y0, Y7, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ  sfloop

sfdone:
	VZEROUPPER
	RET

// func swigluBack8(n int, dgate, dup, dout, gate, up *float32)
// sig = 1/(1+exp(-g)); dup += dout·g·sig; dgate += dout·up·sig·(1 + g(1-sig)).
TEXT ·swigluBack8(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ dgate+8(FP), DI
	MOVQ dup+16(FP), R8
	MOVQ dout+24(FP), DX
	MOVQ gate+32(FP), SI
	MOVQ up+40(FP), R9
	SHRQ $3, CX
	JZ   sbdone
	VMOVUPS one<>(SB), Y15
	VXORPS Y14, Y14, Y14

sbloop:
	VMOVUPS (SI), Y6
	VSUBPS Y6, Y14, Y0
	EXP
	VADDPS Y15, Y0, Y0
	VDIVPS Y0, Y15, Y7       // sig
	VMOVUPS (DX), Y8         // dout
	VMULPS Y7, Y6, Y9        // g·sig
	VMOVUPS (R8), Y10
	VFMADD231PS Y8, Y9, Y10  // dup += dout·g·sig
	VMOVUPS Y10, (R8)
	VSUBPS Y7, Y15, Y10      // 1 - sig
	VFMADD213PS Y15, Y6, Y10 // 1 + g(1-sig)
	VMULPS Y7, Y10, Y10
	VMULPS (R9), Y10, Y10    // up·sig·(1 + g(1-sig))
	VMOVUPS (DI), Y11
	VFMADD231PS Y8, Y10, Y11
	VMOVUPS Y11, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, DX
	ADDQ $32, R9
	DECQ CX
	JNZ  sbloop

sbdone:
	VZEROUPPER
	RET
