//go:build amd64 && !purego

package tensor

import (
	"math/bits"
	"unsafe"
)

//go:noescape
func sumsAtLeast8(blocks int, x *float32, lo float32, sums *float32)

//go:noescape
func indices8(n8 int, x *float32, lo, hi float32, dst *int32, lut *[256][8]int32) int

// compressLUT[m] lists the set bits of the 8-bit mask m in increasing
// order (zero-padded): indices8's VPERMD moves the indices of a group's
// members to the front with it.
var compressLUT [256][8]int32

func init() {
	for m := range compressLUT {
		k := 0
		for b := uint(0); b < 8; b++ {
			if m&(1<<b) != 0 {
				compressLUT[m][k] = int32(b)
				k++
			}
		}
		if k != bits.OnesCount(uint(m)) {
			panic("tensor: compressLUT")
		}
	}
}

func sumsAtLeastAVX2(sums, x []float32, lo float32) {
	full := min(len(sums), len(x)/SumBlock)
	if full > 0 {
		sumsAtLeast8(full, unsafe.SliceData(x), lo, unsafe.SliceData(sums))
	}
	if full < len(sums) {
		sumsAtLeastGeneric(sums[full:], x[full*SumBlock:], lo)
	}
}

func indicesInAVX2(dst []int32, x []float32, lo, hi float32) int {
	n8 := len(x) &^ 7
	n := 0
	if n8 > 0 {
		n = indices8(n8, unsafe.SliceData(x), lo, hi, unsafe.SliceData(dst), &compressLUT)
	}
	for i := n8; i < len(x); i++ {
		if v := x[i]; v >= lo && v < hi {
			dst[n] = int32(i)
			n++
		}
	}
	return n
}
