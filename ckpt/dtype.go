package ckpt

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// littleEndian is true on the machines (all that Go's main ports run on)
// where F32 data in a file is already float32 in memory.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// asFloat32s views b as float32s without copying, or returns nil where that
// would be wrong: on a big-endian machine or for a misaligned slice.
func asFloat32s(b []byte) []float32 {
	if !littleEndian || len(b) == 0 || uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// DType is a safetensors element type, spelled as in the file header.
type DType string

// The dtypes of the safetensors specification.
const (
	BOOL   DType = "BOOL"
	U8     DType = "U8"
	I8     DType = "I8"
	F8E5M2 DType = "F8_E5M2"
	F8E4M3 DType = "F8_E4M3"
	I16    DType = "I16"
	U16    DType = "U16"
	F16    DType = "F16"
	BF16   DType = "BF16"
	I32    DType = "I32"
	U32    DType = "U32"
	F32    DType = "F32"
	F64    DType = "F64"
	I64    DType = "I64"
	U64    DType = "U64"
)

// Size is the width of one element in bytes, or 0 for a dtype the
// specification does not define.
func (d DType) Size() int {
	switch d {
	case BOOL, U8, I8, F8E5M2, F8E4M3:
		return 1
	case I16, U16, F16, BF16:
		return 2
	case I32, U32, F32:
		return 4
	case F64, I64, U64:
		return 8
	}
	return 0
}

// Float reports whether values of d convert to float32 on reading.
func (d DType) Float() bool { return d == F32 || d == F16 || d == BF16 || d == F64 }

// decodeFloats converts len(dst) little-endian elements of dtype d from src.
func decodeFloats(dst []float32, src []byte, d DType) {
	switch d {
	case F32:
		if f := asFloat32s(src[:4*len(dst)]); f != nil {
			copy(dst, f) // a memmove: the bytes already are float32s
			return
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = f16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	}
}

// f16ToF32 widens an IEEE 754 half: every half value, subnormals, infinities
// and NaNs included, is exactly representable as a float32.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0: // zero or subnormal: mant·2^-24
		f := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(f) | sign)
	case 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
