//go:build amd64 && !purego

#include "textflag.h"
#include "zero_amd64.h"

// One k step of the 6x16 micro-kernel: two 8-wide loads of the B panel,
// six broadcasts of the A panel, twelve FMAs into Y0..Y11.
#define KSTEP(AOFF, BOFF) \
	VMOVUPS BOFF(BX), Y12; \
	VMOVUPS BOFF+32(BX), Y13; \
	VBROADCASTSS AOFF(AX), Y14; \
	VBROADCASTSS AOFF+4(AX), Y15; \
	VFMADD231PS Y12, Y14, Y0; \
	VFMADD231PS Y13, Y14, Y1; \
	VFMADD231PS Y12, Y15, Y2; \
	VFMADD231PS Y13, Y15, Y3; \
	VBROADCASTSS AOFF+8(AX), Y14; \
	VBROADCASTSS AOFF+12(AX), Y15; \
	VFMADD231PS Y12, Y14, Y4; \
	VFMADD231PS Y13, Y14, Y5; \
	VFMADD231PS Y12, Y15, Y6; \
	VFMADD231PS Y13, Y15, Y7; \
	VBROADCASTSS AOFF+16(AX), Y14; \
	VBROADCASTSS AOFF+20(AX), Y15; \
	VFMADD231PS Y12, Y14, Y8; \
	VFMADD231PS Y13, Y14, Y9; \
	VFMADD231PS Y12, Y15, Y10; \
	VFMADD231PS Y13, Y15, Y11

// C row update with beta: c = acc + beta*c (alpha already applied).
#define ROWBETA(R0, R1) \
	VFMADD231PS (DI), Y15, R0; \
	VFMADD231PS 32(DI), Y15, R1; \
	VMOVUPS R0, (DI); \
	VMOVUPS R1, 32(DI); \
	ADDQ R8, DI

#define ROWSTORE(R0, R1) \
	VMOVUPS R0, (DI); \
	VMOVUPS R1, 32(DI); \
	ADDQ R8, DI

// func sgemm6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32, pf *float32)
// c[6][16] (row stride ldc) = alpha * a·b + beta * c, where a holds kc steps
// of 6 floats and b kc steps of 16. beta == 0 (either sign) ignores c.
// One cache line from pf onwards is prefetched per k step: kc lines is
// exactly one B panel, so the caller points pf at the next panel.
TEXT ·sgemm6x16(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DI
	MOVQ ldc+32(FP), R8
	MOVQ pf+48(FP), R10
	SHLQ $2, R8

	ZERO12

	PREFETCHC6 // the C tile's lines arrive while the loop runs

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   tail

	PCALIGN $32
loop4:
	PREFETCHT0 384(AX)
	PREFETCHT0 (R10)
	KSTEP(0, 0)
	PREFETCHT0 64(R10)
	KSTEP(24, 64)
	PREFETCHT0 128(R10)
	KSTEP(48, 128)
	PREFETCHT0 192(R10)
	KSTEP(72, 192)
	ADDQ $256, R10
	ADDQ $96, AX
	ADDQ $256, BX
	DECQ DX
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   store

loop1:
	PREFETCHT0 (R10)
	ADDQ $64, R10
	KSTEP(0, 0)
	ADDQ $24, AX
	ADDQ $64, BX
	DECQ CX
	JNZ  loop1

store:
	VBROADCASTSS alpha+40(FP), Y14
	VMULPS Y14, Y0, Y0
	VMULPS Y14, Y1, Y1
	VMULPS Y14, Y2, Y2
	VMULPS Y14, Y3, Y3
	VMULPS Y14, Y4, Y4
	VMULPS Y14, Y5, Y5
	VMULPS Y14, Y6, Y6
	VMULPS Y14, Y7, Y7
	VMULPS Y14, Y8, Y8
	VMULPS Y14, Y9, Y9
	VMULPS Y14, Y10, Y10
	VMULPS Y14, Y11, Y11

	MOVL beta+44(FP), DX
	SHLL $1, DX // drop the sign: -0 counts as zero
	JZ   nobeta

	VBROADCASTSS beta+44(FP), Y15
	ROWBETA(Y0, Y1)
	ROWBETA(Y2, Y3)
	ROWBETA(Y4, Y5)
	ROWBETA(Y6, Y7)
	ROWBETA(Y8, Y9)
	ROWBETA(Y10, Y11)
	VZEROUPPER
	RET

nobeta:
	ROWSTORE(Y0, Y1)
	ROWSTORE(Y2, Y3)
	ROWSTORE(Y4, Y5)
	ROWSTORE(Y6, Y7)
	ROWSTORE(Y8, Y9)
	ROWSTORE(Y10, Y11)
	VZEROUPPER
	RET

// One 8x8 transpose: LOAD8 reads eight rows of 8 floats from S, S+R8, ...
// (R8 = row stride in bytes, R9 = 3*R8), TRANS8STORE writes them as eight
// columns 64 bytes apart from DOFF(DI).
#define LOAD8(S) \
	VMOVUPS (S), Y0; \
	VMOVUPS (S)(R8*1), Y1; \
	VMOVUPS (S)(R8*2), Y2; \
	VMOVUPS (S)(R9*1), Y3; \
	LEAQ (S)(R8*4), R12; \
	VMOVUPS (R12), Y4; \
	VMOVUPS (R12)(R8*1), Y5; \
	VMOVUPS (R12)(R8*2), Y6; \
	VMOVUPS (R12)(R9*1), Y7

#define TRANS8STORE(DOFF) \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VUNPCKLPS Y7, Y6, Y14; \
	VUNPCKHPS Y7, Y6, Y15; \
	VSHUFPS $0x44, Y10, Y8, Y0; \
	VSHUFPS $0xEE, Y10, Y8, Y1; \
	VSHUFPS $0x44, Y11, Y9, Y2; \
	VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y14, Y12, Y4; \
	VSHUFPS $0xEE, Y14, Y12, Y5; \
	VSHUFPS $0x44, Y15, Y13, Y6; \
	VSHUFPS $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VPERM2F128 $0x20, Y5, Y1, Y9; \
	VPERM2F128 $0x20, Y6, Y2, Y10; \
	VPERM2F128 $0x20, Y7, Y3, Y11; \
	VPERM2F128 $0x31, Y4, Y0, Y12; \
	VPERM2F128 $0x31, Y5, Y1, Y13; \
	VPERM2F128 $0x31, Y6, Y2, Y14; \
	VPERM2F128 $0x31, Y7, Y3, Y15; \
	VMOVUPS Y8, DOFF(DI); \
	VMOVUPS Y9, DOFF+64(DI); \
	VMOVUPS Y10, DOFF+128(DI); \
	VMOVUPS Y11, DOFF+192(DI); \
	VMOVUPS Y12, DOFF+256(DI); \
	VMOVUPS Y13, DOFF+320(DI); \
	VMOVUPS Y14, DOFF+384(DI); \
	VMOVUPS Y15, DOFF+448(DI)

#define PF8(S) \
	PREFETCHT0 (S); \
	PREFETCHT0 (S)(R8*1); \
	PREFETCHT0 (S)(R8*2); \
	PREFETCHT0 (S)(R9*1); \
	LEAQ (S)(R8*4), R12; \
	PREFETCHT0 (R12); \
	PREFETCHT0 (R12)(R8*1); \
	PREFETCHT0 (R12)(R8*2); \
	PREFETCHT0 (R12)(R9*1)

// func transpose16(kc int, src *float32, ldb int, dst *float32)
// dst[p*16+j] = src[j*ldb+p] for j < 16, p < kc; kc is a multiple of 16.
// Each pass takes 16 columns, a whole cache line of every row, and
// prefetches the same line of the next 16 rows: the caller's next panel.
// (Each row is only kc floats long, too short a stream for the hardware
// prefetcher to help; without this the pack waits on L3 or DRAM.)
TEXT ·transpose16(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9 // 3 rows
	LEAQ (SI)(R8*8), R10 // row 8
	LEAQ (R10)(R8*8), R13 // row 16: the next panel
	LEAQ (R13)(R8*8), R14 // row 24
	SHRQ $4, CX

tloop:
	PF8(R13)
	PF8(R14)
	ADDQ $64, R13
	ADDQ $64, R14
	LOAD8(SI)
	TRANS8STORE(0)
	LOAD8(R10)
	TRANS8STORE(32)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $512, DI
	LOAD8(SI)
	TRANS8STORE(0)
	LOAD8(R10)
	TRANS8STORE(32)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $512, DI
	DECQ CX
	JNZ  tloop
	VZEROUPPER
	RET

// func packRows16(kc, panels int, src *float32, ldb int, dst *float32)
// dst[q*16*kc + p*16 + j] = src[p*ldb + q*16 + j] for p < kc, q < panels,
// j < 16: row by row, so the source streams sequentially.
TEXT ·packRows16(SB), NOSPLIT, $0-40
	MOVQ kc+0(FP), CX
	MOVQ panels+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ ldb+24(FP), R8
	MOVQ dst+32(FP), DI
	SHLQ $2, R8
	MOVQ CX, R9
	SHLQ $6, R9 // panel stride: kc*16 floats

prow:
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ DX, BX

pcol:
	VMOVUPS (R10), Y0
	VMOVUPS 32(R10), Y1
	VMOVUPS Y0, (R11)
	VMOVUPS Y1, 32(R11)
	ADDQ $64, R10
	ADDQ R9, R11
	DECQ BX
	JNZ  pcol

	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  prow
	VZEROUPPER
	RET

// func packAT6(kc, panels int, src *float32, lda int, dst *float32)
// Packs panels 6-row panels of op(A) = Aᵀ: dst[q*6*kc + p*6 + i] =
// src[p*lda + q*6 + i]. Row p of the stored A is read sequentially and
// dealt out 6 floats to each panel, so every line of A is fetched once.
TEXT ·packAT6(SB), NOSPLIT, $0-40
	MOVQ kc+0(FP), CX
	MOVQ panels+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ lda+24(FP), R8
	MOVQ dst+32(FP), DI
	SHLQ $2, R8
	MOVQ CX, R9
	IMULQ $24, R9 // panel stride: kc*6 floats

atrow:
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ DX, BX

atpanel:
	MOVUPS (R10), X0
	MOVQ   16(R10), AX
	MOVUPS X0, (R11)
	MOVQ   AX, 16(R11)
	ADDQ $24, R10
	ADDQ R9, R11
	DECQ BX
	JNZ  atpanel

	ADDQ R8, SI
	ADDQ $24, DI
	DECQ CX
	JNZ  atrow
	RET

// Stores the first 6 floats of column vector R (its X half XR, scratch X
// half XT) at OFF(DI).
#define STORE6(R, XR, XT, OFF) \
	VMOVUPS XR, OFF(DI); \
	VEXTRACTF128 $1, R, XT; \
	VMOVQ XT, OFF+16(DI)

// func packA6T(kc int, src *float32, lda int, dst *float32)
// Packs one 6-row panel of a row-major A: dst[p*6+i] = src[i*lda+p] for
// i < 6, p < kc (a multiple of 8), eight k steps per 8x8 transpose (rows
// 6 and 7 are don't-cares).
TEXT ·packA6T(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9 // 3 rows
	SHRQ $3, CX
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

a6loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	LEAQ (SI)(R8*4), R12
	VMOVUPS (R12), Y4
	VMOVUPS (R12)(R8*1), Y5
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y8
	VSHUFPS $0xEE, Y15, Y13, Y9
	VPERM2F128 $0x20, Y4, Y0, Y10
	VPERM2F128 $0x20, Y5, Y1, Y11
	VPERM2F128 $0x20, Y8, Y2, Y12
	VPERM2F128 $0x20, Y9, Y3, Y13
	STORE6(Y10, X10, X14, 0)
	STORE6(Y11, X11, X14, 24)
	STORE6(Y12, X12, X14, 48)
	STORE6(Y13, X13, X14, 72)
	VPERM2F128 $0x31, Y4, Y0, Y10
	VPERM2F128 $0x31, Y5, Y1, Y11
	VPERM2F128 $0x31, Y8, Y2, Y12
	VPERM2F128 $0x31, Y9, Y3, Y13
	STORE6(Y10, X10, X14, 96)
	STORE6(Y11, X11, X14, 120)
	STORE6(Y12, X12, X14, 144)
	STORE6(Y13, X13, X14, 168)
	ADDQ $32, SI
	ADDQ $192, DI
	DECQ CX
	JNZ  a6loop
	VZEROUPPER
	RET
