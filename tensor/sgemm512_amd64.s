//go:build amd64 && !purego

#include "textflag.h"
#include "zero_amd64.h"

// One k step of the AVX-512 6x16 micro-kernel: one 16-wide load of the B
// panel into B, then six FMAs, each broadcasting one A value from memory
// (embedded broadcast) into the accumulators A0..A5 (the tile's six rows).
#define ZSTEP(AOFF, BOFF, B, A0, A1, A2, A3, A4, A5) \
	VMOVUPS BOFF(BX), B; \
	VFMADD231PS.BCST AOFF(AX), B, A0; \
	VFMADD231PS.BCST AOFF+4(AX), B, A1; \
	VFMADD231PS.BCST AOFF+8(AX), B, A2; \
	VFMADD231PS.BCST AOFF+12(AX), B, A3; \
	VFMADD231PS.BCST AOFF+16(AX), B, A4; \
	VFMADD231PS.BCST AOFF+20(AX), B, A5

// C row update: c = acc + beta*c (alpha already applied), or a plain store.
#define ZROWBETA(R) \
	VFMADD231PS (DI), Z15, R; \
	VMOVUPS R, (DI); \
	ADDQ R8, DI

#define ZROWSTORE(R) \
	VMOVUPS R, (DI); \
	ADDQ R8, DI

// func sgemm6x16z(kc int, a, b, c *float32, ldc int, alpha, beta float32, pf *float32)
// sgemm6x16 with 16-wide registers: the same packed panels (kc steps of 6
// A values and of 16 B values) and the same contract. A C row is one zmm,
// so six accumulators would leave the two FMA pipes waiting on their
// 4-cycle latency; even k steps go to Z0..Z5 and odd ones to Z6..Z11,
// twelve chains, added at the end. One cache line of the next B panel (pf)
// is prefetched per k step, as in sgemm6x16.
TEXT ·sgemm6x16z(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DI
	MOVQ ldc+32(FP), R8
	MOVQ pf+48(FP), R10
	SHLQ $2, R8

	ZERO12Z

	PREFETCHC6 // the C tile's lines arrive while the loop runs

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   ztail

	PCALIGN $32
zloop4:
	PREFETCHT0 384(AX)
	PREFETCHT0 (R10)
	ZSTEP(0, 0, Z12, Z0, Z1, Z2, Z3, Z4, Z5)
	PREFETCHT0 64(R10)
	ZSTEP(24, 64, Z13, Z6, Z7, Z8, Z9, Z10, Z11)
	PREFETCHT0 128(R10)
	ZSTEP(48, 128, Z14, Z0, Z1, Z2, Z3, Z4, Z5)
	PREFETCHT0 192(R10)
	ZSTEP(72, 192, Z15, Z6, Z7, Z8, Z9, Z10, Z11)
	ADDQ $256, R10
	ADDQ $96, AX
	ADDQ $256, BX
	DECQ DX
	JNZ  zloop4

ztail:
	ANDQ $3, CX
	JZ   zstore

zloop1:
	PREFETCHT0 (R10)
	ADDQ $64, R10
	ZSTEP(0, 0, Z12, Z0, Z1, Z2, Z3, Z4, Z5)
	ADDQ $24, AX
	ADDQ $64, BX
	DECQ CX
	JNZ  zloop1

zstore:
	SUMEVENODDZ
	VBROADCASTSS alpha+40(FP), Z14
	VMULPS Z14, Z0, Z0
	VMULPS Z14, Z1, Z1
	VMULPS Z14, Z2, Z2
	VMULPS Z14, Z3, Z3
	VMULPS Z14, Z4, Z4
	VMULPS Z14, Z5, Z5

	MOVL beta+44(FP), DX
	SHLL $1, DX // drop the sign: -0 counts as zero
	JZ   znobeta

	VBROADCASTSS beta+44(FP), Z15
	ZROWBETA(Z0)
	ZROWBETA(Z1)
	ZROWBETA(Z2)
	ZROWBETA(Z3)
	ZROWBETA(Z4)
	ZROWBETA(Z5)
	VZEROUPPER
	RET

znobeta:
	ZROWSTORE(Z0)
	ZROWSTORE(Z1)
	ZROWSTORE(Z2)
	ZROWSTORE(Z3)
	ZROWSTORE(Z4)
	ZROWSTORE(Z5)
	VZEROUPPER
	RET

// func fmaLoop512(iters int)
// fmaLoop with 16-wide FMAs: iters × 12 independent zmm FMAs, 384 flops
// per iteration.
TEXT ·fmaLoop512(SB), NOSPLIT, $0-8
	MOVQ iters+0(FP), CX
	ZERO12Z
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	TESTQ CX, CX
	JZ    zpdone

	PCALIGN $32
zploop:
	VFMADD231PS Z12, Z13, Z0
	VFMADD231PS Z12, Z13, Z1
	VFMADD231PS Z12, Z13, Z2
	VFMADD231PS Z12, Z13, Z3
	VFMADD231PS Z12, Z13, Z4
	VFMADD231PS Z12, Z13, Z5
	VFMADD231PS Z12, Z13, Z6
	VFMADD231PS Z12, Z13, Z7
	VFMADD231PS Z12, Z13, Z8
	VFMADD231PS Z12, Z13, Z9
	VFMADD231PS Z12, Z13, Z10
	VFMADD231PS Z12, Z13, Z11
	DECQ CX
	JNZ  zploop

zpdone:
	VZEROUPPER
	RET
