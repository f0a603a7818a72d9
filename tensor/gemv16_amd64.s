//go:build amd64 && !purego

#include "textflag.h"
#include "zero_amd64.h"

// OUTER6 does the twelve FMAs of one k step at byte offset OFF of the W
// rows and XOFF of the packed x: each of the six W values broadcast against
// the step's sixteen x values (Y12, Y13).
#define OUTER6(OFF, XOFF) \
	VMOVUPS XOFF(SI), Y12; \
	VMOVUPS XOFF+32(SI), Y13; \
	VBROADCASTSS OFF(DI)(DX*1), Y14; \
	VFMADD231PS Y12, Y14, Y0; \
	VFMADD231PS Y13, Y14, Y1; \
	VBROADCASTSS OFF(R9)(DX*1), Y15; \
	VFMADD231PS Y12, Y15, Y2; \
	VFMADD231PS Y13, Y15, Y3; \
	VBROADCASTSS OFF(R10)(DX*1), Y14; \
	VFMADD231PS Y12, Y14, Y4; \
	VFMADD231PS Y13, Y14, Y5; \
	VBROADCASTSS OFF(R11)(DX*1), Y15; \
	VFMADD231PS Y12, Y15, Y6; \
	VFMADD231PS Y13, Y15, Y7; \
	VBROADCASTSS OFF(R12)(DX*1), Y14; \
	VFMADD231PS Y12, Y14, Y8; \
	VFMADD231PS Y13, Y14, Y9; \
	VBROADCASTSS OFF(R13)(DX*1), Y15; \
	VFMADD231PS Y12, Y15, Y10; \
	VFMADD231PS Y13, Y15, Y11

// OUTER6Z is OUTER6 with 16-wide registers: one zmm holds the step's
// sixteen x values (Z), and each FMA broadcasts its W value from memory
// into A0..A5.
#define OUTER6Z(OFF, XOFF, Z, A0, A1, A2, A3, A4, A5) \
	VMOVUPS XOFF(SI), Z; \
	VFMADD231PS.BCST OFF(DI)(DX*1), Z, A0; \
	VFMADD231PS.BCST OFF(R9)(DX*1), Z, A1; \
	VFMADD231PS.BCST OFF(R10)(DX*1), Z, A2; \
	VFMADD231PS.BCST OFF(R11)(DX*1), Z, A3; \
	VFMADD231PS.BCST OFF(R12)(DX*1), Z, A4; \
	VFMADD231PS.BCST OFF(R13)(DX*1), Z, A5

// STORE1 writes one W row's value for x row i, from the scratch at OS(SP)
// plus BX = 4i, to OC(AX) in the output row; ADD1 adds it there.
#define STORE1(OS, OC) \
	VMOVSS OS(SP)(BX*1), X0; \
	VMOVSS X0, OC(AX)

#define ADD1(OS, OC) \
	VMOVSS OS(SP)(BX*1), X0; \
	VADDSS OC(AX), X0, X0; \
	VMOVSS X0, OC(AX)

// func sgemv6x16t(k2, tiles int, w *float32, ldw int, xp *float32, c *float32, ldc, acc, pfstep, m, wide int)
// For each of tiles tiles of six rows of w (row stride ldw floats, tile t
// starting at row 6t) and each x row i < m (m <= 16): c[i*ldc+6t+j] =
// w_{6t+j} · x_i, plus c's value if acc. The x rows come packed k-major,
// xp[16p+i] = x_i[p], zero past m; k = 2·k2. Each k step broadcasts the six
// W values against the sixteen x values: twelve accumulators, no
// horizontal sums, and W read straight from its rows. The next tile is
// prefetched, pfstep bytes per loop pass. Over stories15M's 61 MB of
// weights at 16 rows, in 2 MiB pages, one tile ahead took 5.3, 5.3 and 7.8
// ms a pass in three runs (variants rotating), two tiles 5.5, 5.3 and 8.1,
// four 5.8, 5.7 and 8.6: lines fetched further ahead are more often evicted
// from L1 by the packed x before use.
//
// wide != 0 (AVX-512F CPUs only) runs the 16-wide loop instead: the
// sixteen x values are one zmm, so a k step is six FMAs, each broadcasting
// its W value from memory; even and odd k steps go to Z0..Z5 and Z6..Z11
// (twelve chains, as in sgemm6x16z), summed before the store. The sums
// are spilled in the 8-wide loop's layout (W row j's sixteen values at
// 64j), so both share the store loops.
TEXT ·sgemv6x16t(SB), $392-88
	MOVQ w+16(FP), DI
	MOVQ ldw+24(FP), R8
	SHLQ $2, R8
	MOVQ c+40(FP), AX
	MOVQ AX, 384(SP) // this tile's first output

o6tile:
	LEAQ (DI)(R8*1), R9
	LEAQ (DI)(R8*2), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R10)(R8*2), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R8)(R8*2), R14
	LEAQ (DI)(R14*2), R14 // row 6, the next tile
	MOVQ pfstep+64(FP), R15
	MOVQ xp+32(FP), SI
	XORQ DX, DX
	MOVQ k2+0(FP), CX
	CMPQ wide+80(FP), $0
	JNE  z6start
	ZERO12

o6loop:
	OUTER6(0, 0)
	OUTER6(4, 64)
	PREFETCHT0 (R14)
	ADDQ R15, R14
	ADDQ $128, SI
	ADDQ $8, DX
	DECQ CX
	JNZ  o6loop

	VMOVUPS Y0, 0(SP)
	VMOVUPS Y1, 32(SP)
	VMOVUPS Y2, 64(SP)
	VMOVUPS Y3, 96(SP)
	VMOVUPS Y4, 128(SP)
	VMOVUPS Y5, 160(SP)
	VMOVUPS Y6, 192(SP)
	VMOVUPS Y7, 224(SP)
	VMOVUPS Y8, 256(SP)
	VMOVUPS Y9, 288(SP)
	VMOVUPS Y10, 320(SP)
	VMOVUPS Y11, 352(SP)
	JMP  o6spilled

z6start:
	ZERO12Z

z6loop:
	OUTER6Z(0, 0, Z12, Z0, Z1, Z2, Z3, Z4, Z5)
	OUTER6Z(4, 64, Z13, Z6, Z7, Z8, Z9, Z10, Z11)
	PREFETCHT0 (R14)
	ADDQ R15, R14
	ADDQ $128, SI
	ADDQ $8, DX
	DECQ CX
	JNZ  z6loop

	SUMEVENODDZ
	VMOVUPS Z0, 0(SP)
	VMOVUPS Z1, 64(SP)
	VMOVUPS Z2, 128(SP)
	VMOVUPS Z3, 192(SP)
	VMOVUPS Z4, 256(SP)
	VMOVUPS Z5, 320(SP)

o6spilled:
	MOVQ 384(SP), AX
	MOVQ ldc+48(FP), R9
	SHLQ $2, R9
	MOVQ m+72(FP), CX
	XORQ BX, BX

	CMPQ acc+56(FP), $0
	JNE  o6add

o6store:
	STORE1(0, 0)
	STORE1(64, 4)
	STORE1(128, 8)
	STORE1(192, 12)
	STORE1(256, 16)
	STORE1(320, 20)
	ADDQ $4, BX
	ADDQ R9, AX
	DECQ CX
	JNZ  o6store
	JMP  o6next

o6add:
	ADD1(0, 0)
	ADD1(64, 4)
	ADD1(128, 8)
	ADD1(192, 12)
	ADD1(256, 16)
	ADD1(320, 20)
	ADDQ $4, BX
	ADDQ R9, AX
	DECQ CX
	JNZ  o6add

o6next:
	ADDQ $24, 384(SP)
	LEAQ (DI)(R8*4), DI
	LEAQ (DI)(R8*2), DI
	DECQ tiles+8(FP)
	JNZ  o6tile

	VZEROUPPER
	RET
