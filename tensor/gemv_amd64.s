//go:build amd64 && !purego

#include "textflag.h"

// GROUP does the twelve FMAs of one 8-wide step: the x vectors of three
// rows (SI, R10, R11 at offset DX) times four rows of w (BX, stride R8).
#define GROUP \
	VMOVUPS (SI)(DX*1), Y12; \
	VMOVUPS (R10)(DX*1), Y13; \
	VMOVUPS (R11)(DX*1), Y14; \
	LEAQ    (DI)(DX*1), BX; \
	VMOVUPS (BX), Y15; \
	VFMADD231PS Y15, Y12, Y0; \
	VFMADD231PS Y15, Y13, Y4; \
	VFMADD231PS Y15, Y14, Y8; \
	VMOVUPS (BX)(R8*1), Y15; \
	VFMADD231PS Y15, Y12, Y1; \
	VFMADD231PS Y15, Y13, Y5; \
	VFMADD231PS Y15, Y14, Y9; \
	VMOVUPS (BX)(R8*2), Y15; \
	VFMADD231PS Y15, Y12, Y2; \
	VFMADD231PS Y15, Y13, Y6; \
	VFMADD231PS Y15, Y14, Y10; \
	VMOVUPS (BX)(R9*1), Y15; \
	VFMADD231PS Y15, Y12, Y3; \
	VFMADD231PS Y15, Y13, Y7; \
	VFMADD231PS Y15, Y14, Y11

// RED4 reduces the accumulators A0..A3 of one x row to [s0 s1 s2 s3] in
// XA0 and stores them at OFF(AX).
#define RED4(A0, A1, A2, A3, XA0, OFF) \
	VHADDPS A1, A0, A0; \
	VHADDPS A3, A2, A2; \
	VHADDPS A2, A0, A0; \
	VEXTRACTF128 $1, A0, X15; \
	VADDPS X15, XA0, XA0; \
	VMOVUPS XA0, OFF(AX)

// func sgemv4(k8, groups int, xs **float32, w *float32, ldw int, out, pf *float32)
// out[12*g + 4*i + r] = x_{3g+i} · w[r*ldw : r*ldw+k8] for g < groups,
// i = 0..2, r = 0..3, where xs points to 3·groups row pointers and k8 is a
// positive multiple of 8. Each 8-wide step loads three x vectors and four
// w vectors for twelve FMAs into twelve accumulators, so the loop is
// FMA-bound: w comes from memory in the first group and from L1 after. A
// non-nil pf (the next four rows of w) is prefetched into L2 during the
// first group so that memory latency overlaps the FMAs of the later groups
// (into L1 it would evict rows of x; measured 20% slower from L3).
TEXT ·sgemv4(SB), NOSPLIT, $0-56
	MOVQ xs+16(FP), R13
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ out+40(FP), AX
	MOVQ pf+48(FP), R12
	MOVQ groups+8(FP), R14

g4group:
	MOVQ (R13), SI
	MOVQ 8(R13), R10
	MOVQ 16(R13), R11
	ADDQ $24, R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ DX, DX
	MOVQ k8+0(FP), CX
	SHRQ $3, CX
	TESTQ R12, R12
	JZ   g4loop

g4pf:
	PREFETCHT1 (R12)
	PREFETCHT1 (R12)(R8*1)
	PREFETCHT1 (R12)(R8*2)
	PREFETCHT1 (R12)(R9*1)
	ADDQ $32, R12
	GROUP
	ADDQ $32, DX
	DECQ CX
	JNZ  g4pf
	XORQ R12, R12
	JMP  g4red

g4loop:
	GROUP
	ADDQ $32, DX
	DECQ CX
	JNZ  g4loop

g4red:
	RED4(Y0, Y1, Y2, Y3, X0, 0)
	RED4(Y4, Y5, Y6, Y7, X4, 16)
	RED4(Y8, Y9, Y10, Y11, X8, 32)
	ADDQ $48, AX
	DECQ R14
	JNZ  g4group

	VZEROUPPER
	RET

// func sgemv1(k8, rows int, x, w *float32, ldw int, out *float32)
// out[j] = x · w[j*ldw : j*ldw+k8] for j < rows, k8 a positive multiple of
// 8. One row at a time with four accumulators: with ldw == k8 the loads of
// w are one sequential stream, which the hardware prefetcher follows best,
// and a software prefetch runs PF bytes ahead of it.
#define PF 512
TEXT ·sgemv1(SB), NOSPLIT, $0-48
	MOVQ k8+0(FP), R12
	MOVQ rows+8(FP), R14
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R8
	SHLQ $2, R8
	MOVQ out+40(FP), AX

g1row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ DX, DX
	MOVQ R12, CX
	SHRQ $5, CX
	JZ   g1tail

g1loop32:
	PREFETCHT0 PF(DI)(DX*1)
	PREFETCHT0 PF+64(DI)(DX*1)
	VMOVUPS (SI)(DX*1), Y4
	VFMADD231PS (DI)(DX*1), Y4, Y0
	VMOVUPS 32(SI)(DX*1), Y5
	VFMADD231PS 32(DI)(DX*1), Y5, Y1
	VMOVUPS 64(SI)(DX*1), Y6
	VFMADD231PS 64(DI)(DX*1), Y6, Y2
	VMOVUPS 96(SI)(DX*1), Y7
	VFMADD231PS 96(DI)(DX*1), Y7, Y3
	ADDQ $128, DX
	DECQ CX
	JNZ  g1loop32

g1tail:
	MOVQ R12, CX
	ANDQ $31, CX
	SHRQ $3, CX
	JZ   g1red

g1loop8:
	VMOVUPS (SI)(DX*1), Y4
	VFMADD231PS (DI)(DX*1), Y4, Y0
	ADDQ $32, DX
	DECQ CX
	JNZ  g1loop8

g1red:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X4
	VADDPS X4, X0, X0
	VPERMILPS $0x0E, X0, X4
	VADDPS X4, X0, X0
	VPERMILPS $0x01, X0, X4
	VADDSS X4, X0, X0
	VMOVSS X0, (AX)
	ADDQ $4, AX
	ADDQ R8, DI
	DECQ R14
	JNZ  g1row

	VZEROUPPER
	RET
