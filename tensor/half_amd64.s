//go:build amd64 && !purego

#include "textflag.h"
#include "zero_amd64.h"

// Kernels over IEEE half-precision (fp16) data, for a KV cache stored in
// 16 bits: F16C's VCVTPH2PS widens eight halves to eight floats in one
// instruction, so the products run in float32 on half the bytes.

// func sf32to16(n8 int, src *float32, dst *uint16)
// dst[i] = fp16(src[i]) for i < n8, rounded to nearest even, n8 a
// positive multiple of 8.
TEXT ·sf32to16(SB), NOSPLIT, $0-24
	MOVQ n8+0(FP), CX
	SHRQ $3, CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI

h16loop:
	VMOVUPS (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VMOVDQU X1, (DI)
	ADDQ $32, SI
	ADDQ $16, DI
	DECQ CX
	JNZ  h16loop
	VZEROUPPER
	RET

// func sf16to32(n8 int, src *uint16, dst *float32)
// dst[i] = float32(src[i]) for i < n8, n8 a positive multiple of 8.
TEXT ·sf16to32(SB), NOSPLIT, $0-24
	MOVQ n8+0(FP), CX
	SHRQ $3, CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI

h32loop:
	VCVTPH2PS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  h32loop
	VZEROUPPER
	RET

// func smatvec8hp(k8, blocks int, x *float32, w *uint16, ldw int, out *float32, pf *uint16, pflines int)
// out[j] = x · float32(w[j*ldw : j*ldw+k8]) for j < 8·blocks, k8 a
// positive multiple of 8: smatvec8 with the rows of w in fp16 (x is read
// at twice w's byte offset DX). After each block of eight rows it
// prefetches pflines (≥ 0) cache lines from pf onward, so that what the
// caller reads next (an attention head's values, after its keys) arrives
// while this runs.
TEXT ·smatvec8hp(SB), NOSPLIT, $0-64
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R8
	SHLQ $1, R8
	MOVQ out+40(FP), AX
	MOVQ blocks+8(FP), R15

mvhblock:
	LEAQ (DI)(R8*1), R9
	LEAQ (DI)(R8*2), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R10)(R8*2), BX
	LEAQ (BX)(R8*1), R12
	LEAQ (BX)(R8*2), R13
	LEAQ (R13)(R8*1), R14
	ZERO8
	XORQ DX, DX
	MOVQ k8+0(FP), CX
	SHRQ $3, CX

mvhloop:
	VMOVUPS (SI)(DX*2), Y8
	VCVTPH2PS (DI)(DX*1), Y9
	VCVTPH2PS (R9)(DX*1), Y10
	VCVTPH2PS (R10)(DX*1), Y11
	VCVTPH2PS (R11)(DX*1), Y12
	VFMADD231PS Y9, Y8, Y0
	VFMADD231PS Y10, Y8, Y1
	VFMADD231PS Y11, Y8, Y2
	VFMADD231PS Y12, Y8, Y3
	VCVTPH2PS (BX)(DX*1), Y13
	VCVTPH2PS (R12)(DX*1), Y14
	VCVTPH2PS (R13)(DX*1), Y15
	VCVTPH2PS (R14)(DX*1), Y9
	VFMADD231PS Y13, Y8, Y4
	VFMADD231PS Y14, Y8, Y5
	VFMADD231PS Y15, Y8, Y6
	VFMADD231PS Y9, Y8, Y7
	ADDQ $16, DX
	DECQ CX
	JNZ  mvhloop

	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y5, Y4, Y4
	VHADDPS Y7, Y6, Y6
	VHADDPS Y2, Y0, Y0
	VHADDPS Y6, Y4, Y4
	VPERM2F128 $0x20, Y4, Y0, Y1
	VPERM2F128 $0x31, Y4, Y0, Y2
	VADDPS Y2, Y1, Y1
	VMOVUPS Y1, (AX)
	ADDQ $32, AX
	LEAQ (DI)(R8*8), DI
	MOVQ pflines+56(FP), CX
	MOVQ pf+48(FP), BX
	TESTQ CX, CX
	JZ   mvhpfdone
mvhpf:
	PREFETCHT0 (BX)
	ADDQ $64, BX
	DECQ CX
	JNZ  mvhpf
	MOVQ BX, pf+48(FP)
mvhpfdone:
	DECQ R15
	JNZ  mvhblock

	VZEROUPPER
	RET

// VMH6 adds a[t]·w_t (Y12 holds a[t]) and a[t+1]·w_{t+1} (Y13) to the six
// column vectors at (R10) and (R10)(R8*1): even rows into Y0..Y5, odd rows
// into Y6..Y11, so twelve FMA chains hide the latency.
#define VMH6(OFF, A, B) \
	VCVTPH2PS OFF(R10), Y14; \
	VCVTPH2PS OFF(R10)(R8*1), Y15; \
	VFMADD231PS Y14, Y12, A; \
	VFMADD231PS Y15, Y13, B

// func svecmath(n8, rows int, a *float32, w *uint16, ldw int, out *float32)
// out[0:n8] = Σ_t a[t]·float32(w[t*ldw : t*ldw+n8]) for t < rows (rows ≥
// 1), n8 a positive multiple of 8: columns in blocks of 48 (a stories15M
// head) with twelve accumulators (even and odd rows), then blocks of 8
// with two.
TEXT ·svecmath(SB), NOSPLIT, $0-48
	MOVQ n8+0(FP), R12
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R8
	SHLQ $1, R8
	MOVQ out+40(FP), AX

vh48:
	CMPQ R12, $48
	JLT  vh8
	ZERO12
	MOVQ a+16(FP), SI
	MOVQ DI, R10
	MOVQ rows+8(FP), CX

vh48pair:
	CMPQ CX, $2
	JLT  vh48one
	VBROADCASTSS (SI), Y12
	VBROADCASTSS 4(SI), Y13
	VMH6(0, Y0, Y6)
	VMH6(16, Y1, Y7)
	VMH6(32, Y2, Y8)
	VMH6(48, Y3, Y9)
	VMH6(64, Y4, Y10)
	VMH6(80, Y5, Y11)
	ADDQ $8, SI
	LEAQ (R10)(R8*2), R10
	SUBQ $2, CX
	JMP  vh48pair

vh48one:
	TESTQ CX, CX
	JZ    vh48sum
	VBROADCASTSS (SI), Y12
	VCVTPH2PS (R10), Y14
	VFMADD231PS Y14, Y12, Y0
	VCVTPH2PS 16(R10), Y14
	VFMADD231PS Y14, Y12, Y1
	VCVTPH2PS 32(R10), Y14
	VFMADD231PS Y14, Y12, Y2
	VCVTPH2PS 48(R10), Y14
	VFMADD231PS Y14, Y12, Y3
	VCVTPH2PS 64(R10), Y14
	VFMADD231PS Y14, Y12, Y4
	VCVTPH2PS 80(R10), Y14
	VFMADD231PS Y14, Y12, Y5

vh48sum:
	VADDPS Y6, Y0, Y0
	VADDPS Y7, Y1, Y1
	VADDPS Y8, Y2, Y2
	VADDPS Y9, Y3, Y3
	VADDPS Y10, Y4, Y4
	VADDPS Y11, Y5, Y5
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	VMOVUPS Y2, 64(AX)
	VMOVUPS Y3, 96(AX)
	VMOVUPS Y4, 128(AX)
	VMOVUPS Y5, 160(AX)
	ADDQ $192, AX
	ADDQ $96, DI
	SUBQ $48, R12
	JMP  vh48

vh8:
	CMPQ R12, $8
	JLT  vhdone
	VXORPS Y0, Y0, Y0
	VXORPS Y6, Y6, Y6
	MOVQ a+16(FP), SI
	MOVQ DI, R10
	MOVQ rows+8(FP), CX

vh8pair:
	CMPQ CX, $2
	JLT  vh8one
	VBROADCASTSS (SI), Y12
	VBROADCASTSS 4(SI), Y13
	VMH6(0, Y0, Y6)
	ADDQ $8, SI
	LEAQ (R10)(R8*2), R10
	SUBQ $2, CX
	JMP  vh8pair

vh8one:
	TESTQ CX, CX
	JZ    vh8sum
	VBROADCASTSS (SI), Y12
	VCVTPH2PS (R10), Y14
	VFMADD231PS Y14, Y12, Y0

vh8sum:
	VADDPS Y6, Y0, Y0
	VMOVUPS Y0, (AX)
	ADDQ $32, AX
	ADDQ $16, DI
	SUBQ $8, R12
	JMP  vh8

vhdone:
	VZEROUPPER
	RET

// func sdoth(k8 int, x *float32, w *uint16) float32
// x[:k8] · float32(w[:k8]), k8 a positive multiple of 8, with two
// accumulators (a row left over by smatvec8h's blocks of eight).
TEXT ·sdoth(SB), NOSPLIT, $0-28
	MOVQ k8+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

dhpair:
	CMPQ CX, $16
	JLT  dhone
	VCVTPH2PS (DI), Y2
	VCVTPH2PS 16(DI), Y3
	VFMADD231PS (SI), Y2, Y0
	VFMADD231PS 32(SI), Y3, Y1
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP  dhpair

dhone:
	TESTQ CX, CX
	JZ    dhsum
	VCVTPH2PS (DI), Y2
	VFMADD231PS (SI), Y2, Y0

dhsum:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
