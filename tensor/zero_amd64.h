// Accumulator clearing and summing and C-tile prefetch shared by the amd64
// kernels.

// ZERO8 clears the accumulators Y0..Y7; ZERO12 also Y8..Y11 (the
// twelve-accumulator tiles).
#define ZERO8 \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7

#define ZERO12 \
	ZERO8; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9; \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11

// ZERO12Z clears the zmm accumulators Z0..Z11 (VPXORD: a zmm VXORPS needs
// AVX512DQ, VPXORD only AVX512F).
#define ZERO12Z \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11

// SUMEVENODDZ adds the odd-k accumulators Z6..Z11 into the even-k ones
// Z0..Z5 (the 16-wide kernels keep twelve FMA chains that way).
#define SUMEVENODDZ \
	VADDPS Z6, Z0, Z0; \
	VADDPS Z7, Z1, Z1; \
	VADDPS Z8, Z2, Z2; \
	VADDPS Z9, Z3, Z3; \
	VADDPS Z10, Z4, Z4; \
	VADDPS Z11, Z5, Z5

// PREFETCHC6 touches the six 64-byte rows of a C tile at DI (row stride R8
// bytes; R9 is clobbered), both lines of each row in case it straddles
// two, so they arrive while the micro-kernel's loop runs.
#define PREFETCHC6 \
	MOVQ DI, R9; \
	PREFETCHT0 (R9); \
	PREFETCHT0 63(R9); \
	ADDQ R8, R9; \
	PREFETCHT0 (R9); \
	PREFETCHT0 63(R9); \
	ADDQ R8, R9; \
	PREFETCHT0 (R9); \
	PREFETCHT0 63(R9); \
	ADDQ R8, R9; \
	PREFETCHT0 (R9); \
	PREFETCHT0 63(R9); \
	ADDQ R8, R9; \
	PREFETCHT0 (R9); \
	PREFETCHT0 63(R9); \
	ADDQ R8, R9; \
	PREFETCHT0 (R9); \
	PREFETCHT0 63(R9)
