package tensor

// Threshold scans over a vector: masked block sums and the indices in a
// range. Top-p sampling runs them over the vocabulary once its histogram
// has found the boundary: the block sums let the draw skip to the block
// that holds it, and the index gather lists the boundary's few members,
// where a scalar loop would cost a compare and a store for every token.

// SumBlock is the block length of BlockSumsAtLeast.
const SumBlock = 64

// BlockSumsAtLeast sets sums[b] to the sum of the elements x[i] >= lo (NaN
// never is) of block b of x, elements b·SumBlock up to (b+1)·SumBlock, and
// returns sums[:ceil(len(x)/SumBlock)]. The sums are float32 and their
// order of addition depends on the kernel. It panics if sums is shorter.
func BlockSumsAtLeast(sums, x []float32, lo float32) []float32 {
	nb := (len(x) + SumBlock - 1) / SumBlock
	sums = sums[:nb]
	current.Load().sumsAtLeast(sums, x, lo)
	return sums
}

// IndicesInRange writes to dst, in increasing order, the indices i with
// lo <= x[i] < hi, and returns how many. dst must be at least len(x) long
// (the vector kernel stores whole groups of eight).
func IndicesInRange(dst []int32, x []float32, lo, hi float32) int {
	if len(dst) < len(x) {
		panic("tensor.IndicesInRange: dst shorter than x")
	}
	return current.Load().indicesIn(dst, x, lo, hi)
}

// sumsAtLeastGeneric is the portable BlockSumsAtLeast over len(sums) blocks.
func sumsAtLeastGeneric(sums, x []float32, lo float32) {
	for b := range sums {
		blk := x[b*SumBlock : min((b+1)*SumBlock, len(x))]
		var s float32
		for _, v := range blk {
			if v >= lo {
				s += v
			}
		}
		sums[b] = s
	}
}

// indicesInGeneric is the portable IndicesInRange: each index is stored and
// kept by advancing the count or not, with no branch to mispredict when
// members and non-members alternate.
func indicesInGeneric(dst []int32, x []float32, lo, hi float32) int {
	n := 0
	for i, v := range x {
		dst[n] = int32(i)
		in := 0
		if v >= lo && v < hi {
			in = 1
		}
		n += in
	}
	return n
}
