//go:build amd64 && !purego

#include "textflag.h"

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

// GROUP43 does the twelve FMAs of one 8-wide step: three rows of w (DI,
// BX, R9 at offset DX) times the x vectors of four rows (SI, R10, R11,
// R14), loaded one at a time.
#define GROUP43 \
	VMOVUPS (DI)(DX*1), Y12; \
	VMOVUPS (BX)(DX*1), Y13; \
	VMOVUPS (R9)(DX*1), Y14; \
	VMOVUPS (SI)(DX*1), Y15; \
	VFMADD231PS Y15, Y12, Y0; \
	VFMADD231PS Y15, Y13, Y1; \
	VFMADD231PS Y15, Y14, Y2; \
	VMOVUPS (R10)(DX*1), Y15; \
	VFMADD231PS Y15, Y12, Y3; \
	VFMADD231PS Y15, Y13, Y4; \
	VFMADD231PS Y15, Y14, Y5; \
	VMOVUPS (R11)(DX*1), Y15; \
	VFMADD231PS Y15, Y12, Y6; \
	VFMADD231PS Y15, Y13, Y7; \
	VFMADD231PS Y15, Y14, Y8; \
	VMOVUPS (R14)(DX*1), Y15; \
	VFMADD231PS Y15, Y12, Y9; \
	VFMADD231PS Y15, Y13, Y10; \
	VFMADD231PS Y15, Y14, Y11

// RED3 reduces the accumulators A0..A2 of one x row to [s0 s1 s2 s2] in
// XA0 and stores them at OFF(AX).
#define RED3(A0, A1, A2, XA0, OFF) \
	VHADDPS A1, A0, A0; \
	VHADDPS A2, A2, A2; \
	VHADDPS A2, A0, A0; \
	VEXTRACTF128 $1, A0, X15; \
	VADDPS X15, XA0, XA0; \
	VMOVUPS XA0, OFF(AX)

// func sgemv43(k8, groups int, xs **float32, w *float32, ldw int, out, pf *float32, pfstep int)
// out[16*g + 4*i + r] = x_{4g+i} · w[r*ldw : r*ldw+k8] for g < groups,
// i = 0..3, r = 0..2 (out[16*g + 4*i + 3] is scratch), where xs points to
// 4·groups row pointers and k8 is a positive multiple of 8. Each 8-wide
// step loads three w vectors and four x vectors for twelve FMAs into
// twelve accumulators, so the loop is FMA-bound: w comes from memory in
// the first group and from L1 after. Four x rows per group make sixteen
// (batched decoding) whole groups. A non-nil pf starts a prefetch stream
// into L2 (into L1 it would evict rows of x) that advances pfstep bytes
// (at most 128) per 8-wide step of every group, so that the next tile of
// w arrives evenly while this one is computed.
TEXT ·sgemv43(SB), NOSPLIT, $0-64
	MOVQ xs+16(FP), R13
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R8
	SHLQ $2, R8
	LEAQ (DI)(R8*1), BX
	LEAQ (DI)(R8*2), R9
	MOVQ out+40(FP), AX
	MOVQ pf+48(FP), R12
	MOVQ pfstep+56(FP), R8
	MOVQ groups+8(FP), R15

g43group:
	MOVQ (R13), SI
	MOVQ 8(R13), R10
	MOVQ 16(R13), R11
	MOVQ 24(R13), R14
	ADDQ $32, R13
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
	JZ   g43loop

g43pf:
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ R8, R12
	GROUP43
	ADDQ $32, DX
	DECQ CX
	JNZ  g43pf
	JMP  g43red

g43loop:
	GROUP43
	ADDQ $32, DX
	DECQ CX
	JNZ  g43loop

g43red:
	RED3(Y0, Y1, Y2, X0, 0)
	RED3(Y3, Y4, Y5, X3, 16)
	RED3(Y6, Y7, Y8, X6, 32)
	RED3(Y9, Y10, Y11, X9, 48)
	ADDQ $64, AX
	DECQ R15
	JNZ  g43group

	VZEROUPPER
	RET
