//go:build amd64 && !purego

#include "textflag.h"
#include "zero_amd64.h"

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
	ZERO12
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

// REDUCE4 stores the sum of all lanes of the accumulators A0..A3 (XA0 is
// A0's low half) as one float at DST; it clobbers A0, A2 and XT.
#define REDUCE4(A0, A1, A2, A3, XA0, XT, DST) \
	VADDPS A1, A0, A0; \
	VADDPS A3, A2, A2; \
	VADDPS A2, A0, A0; \
	VEXTRACTF128 $1, A0, XT; \
	VADDPS XT, XA0, XA0; \
	VPERMILPS $0x0E, XA0, XT; \
	VADDPS XT, XA0, XA0; \
	VPERMILPS $0x01, XA0, XT; \
	VADDSS XT, XA0, XA0; \
	VMOVSS XA0, DST

// func sgemv1x2(k8, rows int, x, w0, w1 *float32, ldw int, out0, out1 *float32)
// out0[j] = x · w0[j*ldw : j*ldw+k8] and out1[j] = x · w1[j*ldw : j*ldw+k8]
// for j < rows: two independent sequential streams of W per core, which
// keep more memory requests in flight than one (about 1.5x the bandwidth
// of a single stream on one Zen3 core).
TEXT ·sgemv1x2(SB), NOSPLIT, $0-64
	MOVQ k8+0(FP), R12
	MOVQ rows+8(FP), R14
	MOVQ x+16(FP), SI
	MOVQ w0+24(FP), DI
	MOVQ w1+32(FP), BX
	MOVQ ldw+40(FP), R8
	SHLQ $2, R8
	MOVQ out0+48(FP), AX
	MOVQ out1+56(FP), R9

g12row:
	ZERO8
	XORQ DX, DX
	MOVQ R12, CX
	SHRQ $5, CX
	JZ   g12tail

g12loop32:
	PREFETCHT0 PF(DI)(DX*1)
	PREFETCHT0 PF(BX)(DX*1)
	PREFETCHT0 PF+64(DI)(DX*1)
	PREFETCHT0 PF+64(BX)(DX*1)
	VMOVUPS (SI)(DX*1), Y8
	VMOVUPS 32(SI)(DX*1), Y9
	VMOVUPS 64(SI)(DX*1), Y10
	VMOVUPS 96(SI)(DX*1), Y11
	VFMADD231PS (DI)(DX*1), Y8, Y0
	VFMADD231PS (BX)(DX*1), Y8, Y4
	VFMADD231PS 32(DI)(DX*1), Y9, Y1
	VFMADD231PS 32(BX)(DX*1), Y9, Y5
	VFMADD231PS 64(DI)(DX*1), Y10, Y2
	VFMADD231PS 64(BX)(DX*1), Y10, Y6
	VFMADD231PS 96(DI)(DX*1), Y11, Y3
	VFMADD231PS 96(BX)(DX*1), Y11, Y7
	ADDQ $128, DX
	DECQ CX
	JNZ  g12loop32

g12tail:
	MOVQ R12, CX
	ANDQ $31, CX
	SHRQ $3, CX
	JZ   g12red

g12loop8:
	VMOVUPS (SI)(DX*1), Y8
	VFMADD231PS (DI)(DX*1), Y8, Y0
	VFMADD231PS (BX)(DX*1), Y8, Y4
	ADDQ $32, DX
	DECQ CX
	JNZ  g12loop8

g12red:
	REDUCE4(Y0, Y1, Y2, Y3, X0, X15, (AX))
	REDUCE4(Y4, Y5, Y6, Y7, X4, X15, (R9))
	ADDQ $4, AX
	ADDQ $4, R9
	ADDQ R8, DI
	ADDQ R8, BX
	DECQ R14
	JNZ  g12row

	VZEROUPPER
	RET

// func svecmat(n8, rows int, a, w *float32, ldw int, out *float32)
// out[0:n8] = Σ_t a[t]·w[t*ldw : t*ldw+n8] for t < rows (rows ≥ 1), n8 a
// positive multiple of 8: columns in blocks of 48 (six accumulators for
// even rows and six for odd ones, so twelve FMA chains hide the FMA
// latency: a head of 48, stories15M's, is one pass), then blocks of 32
// (four accumulators, one FMA chain each), then blocks of 8 with two
// chains (even and odd rows).
TEXT ·svecmat(SB), NOSPLIT, $0-48
	MOVQ n8+0(FP), R12
	MOVQ a+16(FP), SI
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R8
	SHLQ $2, R8
	MOVQ out+40(FP), AX

vm48:
	CMPQ R12, $48
	JLT  vm32
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
	MOVQ DI, BX
	XORQ DX, DX
	MOVQ rows+8(FP), CX
	SHRQ $1, CX
	JZ   vm48odd

vm48pair:
	VBROADCASTSS (SI)(DX*4), Y12
	VBROADCASTSS 4(SI)(DX*4), Y13
	VFMADD231PS (BX), Y12, Y0
	VFMADD231PS 32(BX), Y12, Y1
	VFMADD231PS 64(BX), Y12, Y2
	VFMADD231PS 96(BX), Y12, Y3
	VFMADD231PS 128(BX), Y12, Y4
	VFMADD231PS 160(BX), Y12, Y5
	VFMADD231PS (BX)(R8*1), Y13, Y6
	VFMADD231PS 32(BX)(R8*1), Y13, Y7
	VFMADD231PS 64(BX)(R8*1), Y13, Y8
	VFMADD231PS 96(BX)(R8*1), Y13, Y9
	VFMADD231PS 128(BX)(R8*1), Y13, Y10
	VFMADD231PS 160(BX)(R8*1), Y13, Y11
	LEAQ (BX)(R8*2), BX
	ADDQ $2, DX
	DECQ CX
	JNZ  vm48pair

vm48odd:
	MOVQ rows+8(FP), CX
	ANDQ $1, CX
	JZ   vm48store
	VBROADCASTSS (SI)(DX*4), Y12
	VFMADD231PS (BX), Y12, Y0
	VFMADD231PS 32(BX), Y12, Y1
	VFMADD231PS 64(BX), Y12, Y2
	VFMADD231PS 96(BX), Y12, Y3
	VFMADD231PS 128(BX), Y12, Y4
	VFMADD231PS 160(BX), Y12, Y5

vm48store:
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
	ADDQ $192, DI
	SUBQ $48, R12
	JMP  vm48

vm32:
	CMPQ R12, $32
	JLT  vm8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ DI, BX
	XORQ DX, DX
	MOVQ rows+8(FP), CX

vm32row:
	VBROADCASTSS (SI)(DX*4), Y4
	VFMADD231PS (BX), Y4, Y0
	VFMADD231PS 32(BX), Y4, Y1
	VFMADD231PS 64(BX), Y4, Y2
	VFMADD231PS 96(BX), Y4, Y3
	ADDQ R8, BX
	INCQ DX
	DECQ CX
	JNZ  vm32row
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	VMOVUPS Y2, 64(AX)
	VMOVUPS Y3, 96(AX)
	ADDQ $128, AX
	ADDQ $128, DI
	SUBQ $32, R12
	JMP  vm32

vm8:
	TESTQ R12, R12
	JZ   vmdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ DI, BX
	XORQ DX, DX
	MOVQ rows+8(FP), CX
	SHRQ $1, CX
	JZ   vm8odd

vm8pair:
	VBROADCASTSS (SI)(DX*4), Y4
	VBROADCASTSS 4(SI)(DX*4), Y5
	VFMADD231PS (BX), Y4, Y0
	VFMADD231PS (BX)(R8*1), Y5, Y1
	LEAQ (BX)(R8*2), BX
	ADDQ $2, DX
	DECQ CX
	JNZ  vm8pair

vm8odd:
	MOVQ rows+8(FP), CX
	ANDQ $1, CX
	JZ   vm8store
	VBROADCASTSS (SI)(DX*4), Y4
	VFMADD231PS (BX), Y4, Y0

vm8store:
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (AX)
	ADDQ $32, AX
	ADDQ $32, DI
	SUBQ $8, R12
	JMP  vm8

vmdone:
	VZEROUPPER
	RET

// STORE3 writes lanes 0..2 of XA (one x row's three sums) to the output row
// whose pointer is at OFF(R13), at byte column AX, first adding what is
// there when ACC (a memory operand) is not zero.
#define STORE3(XA, OFF, ACC, label) \
	MOVQ OFF(R13), SI; \
	CMPQ ACC, $0; \
	JEQ  label; \
	VMOVSS (SI)(AX*1), X15; \
	VINSERTPS $0x10, 4(SI)(AX*1), X15, X15; \
	VINSERTPS $0x20, 8(SI)(AX*1), X15, X15; \
	VADDPS X15, XA, XA; \
label: \
	VMOVSS XA, (SI)(AX*1); \
	VEXTRACTPS $1, XA, 4(SI)(AX*1); \
	VEXTRACTPS $2, XA, 8(SI)(AX*1)

// RED3X is RED3 without the store: [s0 s1 s2 s2] in XA0.
#define RED3X(A0, A1, A2, XA0) \
	VHADDPS A1, A0, A0; \
	VHADDPS A2, A2, A2; \
	VHADDPS A2, A0, A0; \
	VEXTRACTF128 $1, A0, X15; \
	VADDPS X15, XA0, XA0

// func sgemv43c(k8, groups, tiles int, ptrs **float32, w *float32, acc int, ldw, pfstep int)
// For each of tiles tiles of three rows of w (row stride ldw floats, tile t
// starting at row 3t) and each x row i < 4·groups: out_i[3t+r] = x_i · w_r
// (plus out_i[3t+r] if acc), where ptrs[i] is x_i and ptrs[16+i] is out_i.
// The body is sgemv43's; the tiles loop and the stores run here rather
// than one Go call per tile. The tile after next is prefetched into L2
// during this one, pfstep bytes per 8-wide step, so that each of its lines
// has a whole tile's time to arrive from memory (prefetching the next
// tile left its last lines requested just before use).
TEXT ·sgemv43c(SB), NOSPLIT, $0-64
	MOVQ w+32(FP), DI
	XORQ AX, AX

g4ctile:
	MOVQ ldw+48(FP), R8
	SHLQ $2, R8
	LEAQ (DI)(R8*1), BX
	LEAQ (DI)(R8*2), R9
	LEAQ (R9)(R8*4), R12
	MOVQ pfstep+56(FP), R8
	MOVQ ptrs+24(FP), R13
	MOVQ groups+8(FP), R15

g4cgroup:
	MOVQ (R13), SI
	MOVQ 8(R13), R10
	MOVQ 16(R13), R11
	MOVQ 24(R13), R14
	ZERO12
	XORQ DX, DX
	MOVQ k8+0(FP), CX
	SHRQ $3, CX

g4cloop:
	PREFETCHT1 (R12)
	ADDQ R8, R12
	GROUP43
	ADDQ $32, DX
	DECQ CX
	JNZ  g4cloop

	RED3X(Y0, Y1, Y2, X0)
	RED3X(Y3, Y4, Y5, X3)
	RED3X(Y6, Y7, Y8, X6)
	RED3X(Y9, Y10, Y11, X9)
	STORE3(X0, 128, acc+40(FP), g4cs0)
	STORE3(X3, 136, acc+40(FP), g4cs1)
	STORE3(X6, 144, acc+40(FP), g4cs2)
	STORE3(X9, 152, acc+40(FP), g4cs3)
	ADDQ $32, R13
	DECQ R15
	JNZ  g4cgroup

	ADDQ $12, AX
	MOVQ ldw+48(FP), R8
	SHLQ $2, R8
	LEAQ (DI)(R8*2), DI
	ADDQ R8, DI
	DECQ tiles+16(FP)
	JNZ  g4ctile

	VZEROUPPER
	RET

// func smatvec8(k8, blocks int, x, w *float32, ldw int, out *float32)
// out[j] = x · w[j*ldw : j*ldw+k8] for j < 8·blocks, k8 a positive multiple
// of 8: eight rows at a time, one accumulator each, so each load of x
// feeds eight FMAs, and the eight accumulators are reduced together into
// one vector of eight sums (three rounds of VHADDPS and a lane swap), not
// one horizontal sum per row. For short rows (attention's keys) the
// reduction would otherwise cost as much as the products.
TEXT ·smatvec8(SB), NOSPLIT, $0-48
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R8
	SHLQ $2, R8
	MOVQ out+40(FP), AX
	MOVQ blocks+8(FP), R15

mv8block:
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

mv8loop:
	VMOVUPS (SI)(DX*1), Y8
	VFMADD231PS (DI)(DX*1), Y8, Y0
	VFMADD231PS (R9)(DX*1), Y8, Y1
	VFMADD231PS (R10)(DX*1), Y8, Y2
	VFMADD231PS (R11)(DX*1), Y8, Y3
	VFMADD231PS (BX)(DX*1), Y8, Y4
	VFMADD231PS (R12)(DX*1), Y8, Y5
	VFMADD231PS (R13)(DX*1), Y8, Y6
	VFMADD231PS (R14)(DX*1), Y8, Y7
	ADDQ $32, DX
	DECQ CX
	JNZ  mv8loop

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
	DECQ R15
	JNZ  mv8block

	VZEROUPPER
	RET
