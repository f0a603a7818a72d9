//go:build amd64 && !purego

#include "textflag.h"

// func adamwAVX2(n int, p, grad, m, v *float32, k *adamConsts)
// Per lane: g' = g·gs; m = β1·m + (1−β1)·g'; v = β2·v + (1−β2)·g'²;
// p = p·keep − step·m/(√v·invRootBC2 + eps).
TEXT ·adamwAVX2(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ p+8(FP), DI
	MOVQ grad+16(FP), SI
	MOVQ m+24(FP), R8
	MOVQ v+32(FP), R9
	MOVQ k+40(FP), AX
	VBROADCASTSS 0(AX), Y0  // β1
	VBROADCASTSS 4(AX), Y1  // 1−β1
	VBROADCASTSS 8(AX), Y2  // β2
	VBROADCASTSS 12(AX), Y3 // 1−β2
	VBROADCASTSS 16(AX), Y4 // gradScale
	VBROADCASTSS 20(AX), Y5 // keep
	VBROADCASTSS 24(AX), Y6 // step
	VBROADCASTSS 28(AX), Y7 // invRootBC2
	VBROADCASTSS 32(AX), Y8 // eps
	SHRQ $3, CX
	JZ   done

loop:
	VMULPS       (SI), Y4, Y9   // g' = g·gs
	VMULPS       (R8), Y0, Y10  // β1·m
	VFMADD231PS  Y9, Y1, Y10    // m = β1·m + (1−β1)·g'
	VMULPS       (R9), Y2, Y11  // β2·v
	VMULPS       Y9, Y9, Y12    // g'²
	VFMADD231PS  Y12, Y3, Y11   // v = β2·v + (1−β2)·g'²
	VMOVUPS      Y10, (R8)
	VMOVUPS      Y11, (R9)
	VSQRTPS      Y11, Y13
	VFMADD213PS  Y8, Y7, Y13    // √v·invRootBC2 + eps
	VDIVPS       Y13, Y10, Y14  // m / denom
	VMULPS       (DI), Y5, Y15  // p·keep
	VFNMADD231PS Y14, Y6, Y15   // − step·m/denom
	VMOVUPS      Y15, (DI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	ADDQ         $32, R8
	ADDQ         $32, R9
	DECQ         CX
	JNZ          loop

done:
	VZEROUPPER
	RET
