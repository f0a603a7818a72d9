//go:build amd64 && !purego

#include "textflag.h"

// EXPV replaces each lane of Y0 by its exponential, as expf does: clamp,
// k = round(x·log2 e), r = x − k·ln 2 (in two parts), a degree-6
// polynomial, then scaling by 2^k in two halves so it never overflows.
// AX points at vecTable; Y1-Y3 are clobbered. The clamps take x as the
// second source so that a NaN passes through.
#define EXPV \
	VMOVUPS      0(AX), Y1     \
	VMAXPS       Y0, Y1, Y0    \
	VMOVUPS      32(AX), Y1    \
	VMINPS       Y0, Y1, Y0    \
	VMULPS       64(AX), Y0, Y1 \
	VROUNDPS     $0, Y1, Y1    \
	VFNMADD231PS 96(AX), Y1, Y0 \
	VFNMADD231PS 128(AX), Y1, Y0 \
	VMULPS       Y0, Y0, Y2    \
	VMOVUPS      160(AX), Y3   \
	VFMADD213PS  192(AX), Y0, Y3 \
	VFMADD213PS  224(AX), Y0, Y3 \
	VFMADD213PS  256(AX), Y0, Y3 \
	VFMADD213PS  288(AX), Y0, Y3 \
	VFMADD213PS  320(AX), Y0, Y3 \
	VFMADD213PS  Y0, Y2, Y3    \
	VADDPS       352(AX), Y3, Y3 \
	VCVTPS2DQ    Y1, Y1        \
	VPSRAD       $1, Y1, Y2    \
	VPSUBD       Y2, Y1, Y1    \
	VPADDD       384(AX), Y2, Y2 \
	VPADDD       384(AX), Y1, Y1 \
	VPSLLD       $23, Y2, Y2   \
	VPSLLD       $23, Y1, Y1   \
	VMULPS       Y2, Y3, Y3    \
	VMULPS       Y1, Y3, Y0

// func expSubSumAVX2(n int, x *float32, shift float32, tab *[17][8]float32) float64
TEXT ·expSubSumAVX2(SB), NOSPLIT, $0-40
	MOVQ         n+0(FP), CX
	MOVQ         x+8(FP), DI
	VBROADCASTSS shift+16(FP), Y8
	MOVQ         tab+24(FP), AX
	VXORPD       Y9, Y9, Y9
	VXORPD       Y10, Y10, Y10
	SHRQ         $3, CX
	JZ           sumdone

sumloop:
	VMOVUPS      (DI), Y0
	VSUBPS       Y8, Y0, Y0
	EXPV
	VMOVUPS      Y0, (DI)
	VCVTPS2PD    X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD    X2, Y2
	VADDPD       Y1, Y9, Y9
	VADDPD       Y2, Y10, Y10
	ADDQ         $32, DI
	DECQ         CX
	JNZ          sumloop

sumdone:
	VADDPD       Y10, Y9, Y9
	VEXTRACTF128 $1, Y9, X10
	VADDPD       X10, X9, X9
	VHADDPD      X9, X9, X9
	VZEROUPPER
	MOVSD        X9, ret+32(FP)
	RET

// func geluForwardAVX2(n int, out, inp *float32, tab *[17][8]float32)
// out = x / (1 + e^(−2·√(2/π)·(x + 0.044715·x³))).
TEXT ·geluForwardAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ out+8(FP), DI
	MOVQ inp+16(FP), SI
	MOVQ tab+24(FP), AX
	SHRQ $3, CX
	JZ   fwddone

fwdloop:
	VMOVUPS     (SI), Y4
	VMULPS      Y4, Y4, Y5
	VMULPS      448(AX), Y5, Y5
	VFMADD213PS Y4, Y4, Y5
	VMULPS      416(AX), Y5, Y0
	EXPV
	VADDPS      352(AX), Y0, Y0
	VDIVPS      Y0, Y4, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         fwdloop

fwddone:
	VZEROUPPER
	RET

// func geluBackwardAVX2(n int, dinp, inp, dout *float32, tab *[17][8]float32)
// With s = 1/(1 + e^(−2u)): dinp = dout·(s + 2√(2/π)·x·s·(1−s)·(1 + 3·0.044715·x²)).
TEXT ·geluBackwardAVX2(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ dinp+8(FP), DI
	MOVQ inp+16(FP), SI
	MOVQ dout+24(FP), DX
	MOVQ tab+32(FP), AX
	SHRQ $3, CX
	JZ   bwddone

bwdloop:
	VMOVUPS     (SI), Y4
	VMULPS      Y4, Y4, Y5
	VMULPS      448(AX), Y5, Y6
	VFMADD213PS Y4, Y4, Y6
	VMULPS      416(AX), Y6, Y0
	EXPV
	VADDPS      352(AX), Y0, Y0
	VMOVUPS     352(AX), Y6
	VDIVPS      Y0, Y6, Y6
	VMOVUPS     352(AX), Y7
	VSUBPS      Y6, Y7, Y7
	VMULPS      Y6, Y7, Y7
	VMULPS      Y4, Y7, Y7
	VMULPS      512(AX), Y7, Y7
	VMULPS      480(AX), Y5, Y5
	VADDPS      352(AX), Y5, Y5
	VFMADD213PS Y6, Y5, Y7
	VMULPS      (DX), Y7, Y7
	VMOVUPS     Y7, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, DX
	DECQ        CX
	JNZ         bwdloop

bwddone:
	VZEROUPPER
	RET

// func swigluForwardAVX2(n int, out, gate, up *float32, tab *[17][8]float32)
// out = gate / (1 + e^(−gate)) · up.
TEXT ·swigluForwardAVX2(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ out+8(FP), DI
	MOVQ gate+16(FP), SI
	MOVQ up+24(FP), DX
	MOVQ tab+32(FP), AX
	SHRQ $3, CX
	JZ   sfwddone

sfwdloop:
	VMOVUPS (SI), Y4
	VXORPS  Y0, Y0, Y0
	VSUBPS  Y4, Y0, Y0
	EXPV
	VADDPS  352(AX), Y0, Y0
	VDIVPS  Y0, Y4, Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     sfwdloop

sfwddone:
	VZEROUPPER
	RET

// func swigluBackwardAVX2(n int, dgate, dup, dout, gate, up *float32, tab *[17][8]float32)
// With σ = 1/(1 + e^(−g)): dup = dout·g·σ, dgate = dout·up·σ·(1 + g·(1−σ)).
TEXT ·swigluBackwardAVX2(SB), NOSPLIT, $0-56
	MOVQ n+0(FP), CX
	MOVQ dgate+8(FP), DI
	MOVQ dup+16(FP), R9
	MOVQ dout+24(FP), R10
	MOVQ gate+32(FP), SI
	MOVQ up+40(FP), R11
	MOVQ tab+48(FP), AX
	SHRQ $3, CX
	JZ   sbwddone

sbwdloop:
	VMOVUPS     (SI), Y4
	VXORPS      Y0, Y0, Y0
	VSUBPS      Y4, Y0, Y0
	EXPV
	VADDPS      352(AX), Y0, Y0
	VMOVUPS     352(AX), Y5
	VDIVPS      Y0, Y5, Y5
	VMOVUPS     (R10), Y6
	VMULPS      Y4, Y5, Y7
	VMULPS      Y6, Y7, Y7
	VMOVUPS     Y7, (R9)
	VMOVUPS     352(AX), Y7
	VSUBPS      Y5, Y7, Y7
	VFMADD213PS 352(AX), Y4, Y7
	VMULPS      Y5, Y7, Y7
	VMULPS      (R11), Y7, Y7
	VMULPS      Y6, Y7, Y7
	VMOVUPS     Y7, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, R9
	ADDQ        $32, R10
	ADDQ        $32, R11
	DECQ        CX
	JNZ         sbwdloop

sbwddone:
	VZEROUPPER
	RET
