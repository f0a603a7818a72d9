//go:build amd64 && !purego

#include "textflag.h"

// The threshold scans of select.go, 8 lanes at a time.

DATA iota8<>+0(SB)/4, $0
DATA iota8<>+4(SB)/4, $1
DATA iota8<>+8(SB)/4, $2
DATA iota8<>+12(SB)/4, $3
DATA iota8<>+16(SB)/4, $4
DATA iota8<>+20(SB)/4, $5
DATA iota8<>+24(SB)/4, $6
DATA iota8<>+28(SB)/4, $7
GLOBL iota8<>(SB), RODATA|NOPTR, $32

DATA eight8<>+0(SB)/4, $8
GLOBL eight8<>(SB), RODATA|NOPTR, $4

// MASKGE keeps the lanes of Y >= Y15 (ordered: NaN lanes are dropped).
#define MASKGE(Y) \
	VCMPPS $0x1d, Y15, Y, Y8; \
	VANDPS Y8, Y, Y

// func sumsAtLeast8(blocks int, x *float32, lo float32, sums *float32)
// sums[b] = the sum of the elements >= lo among x[64b : 64b+64], for
// blocks whole blocks: eight vectors masked, added as a tree, then across
// the lanes.
TEXT ·sumsAtLeast8(SB), NOSPLIT, $0-32
	MOVQ blocks+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSS lo+16(FP), Y15
	MOVQ sums+24(FP), DI

salblock:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMOVUPS 128(SI), Y4
	VMOVUPS 160(SI), Y5
	VMOVUPS 192(SI), Y6
	VMOVUPS 224(SI), Y7
	MASKGE(Y0)
	MASKGE(Y1)
	MASKGE(Y2)
	MASKGE(Y3)
	MASKGE(Y4)
	MASKGE(Y5)
	MASKGE(Y6)
	MASKGE(Y7)
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y2, Y0, Y0
	VADDPS Y6, Y4, Y4
	VADDPS Y4, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DI)
	ADDQ $256, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  salblock

	VZEROUPPER
	RET

// func indices8(n8 int, x *float32, lo, hi float32, dst *int32, lut *[256][8]int32) int
// Writes the indices i < n8 (a positive multiple of 8) with lo <= x[i] < hi
// to dst in order and returns their count. Per group of eight: the members'
// mask, the table row that lists its set bits, VPERMD of the group's
// indices by it, one unconditional 8-wide store, and the count advanced by
// the mask's population.
TEXT ·indices8(SB), NOSPLIT, $0-48
	MOVQ n8+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSS lo+16(FP), Y14
	VBROADCASTSS hi+20(FP), Y15
	MOVQ dst+24(FP), DI
	MOVQ lut+32(FP), R8
	XORQ DX, DX
	VMOVDQU iota8<>(SB), Y13
	VPBROADCASTD eight8<>(SB), Y12
	SHRQ $3, CX

idxloop:
	VMOVUPS (SI), Y0
	VCMPPS $0x1d, Y14, Y0, Y1 // x >= lo
	VCMPPS $0x11, Y15, Y0, Y2 // x < hi
	VANDPS Y2, Y1, Y1
	VMOVMSKPS Y1, AX
	MOVQ AX, BX
	SHLQ $5, BX
	VMOVDQU (R8)(BX*1), Y3
	VPERMD Y13, Y3, Y4
	VMOVDQU Y4, (DI)(DX*4)
	POPCNTL AX, AX
	ADDQ AX, DX
	VPADDD Y12, Y13, Y13
	ADDQ $32, SI
	DECQ CX
	JNZ  idxloop

	MOVQ DX, ret+40(FP)
	VZEROUPPER
	RET
