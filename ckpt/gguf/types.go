package gguf

import "fmt"

// Magic is the first four bytes of every GGUF file, "GGUF".
const Magic = "GGUF"

// Version is the GGUF version this package writes; the reader also accepts
// version 2, which has the same layout.
const Version = 3

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// MaxNameLen bounds tensor names: ggml keeps them in a 64-byte buffer with a
// terminating NUL.
const MaxNameLen = 63

// MaxDims is ggml's limit on tensor dimensions.
const MaxDims = 4

// ValueType is the type tag of a metadata value.
type ValueType uint32

// The metadata value types of the GGUF specification.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

// scalarSize is the encoded width of a fixed-size scalar type, 0 for
// strings and arrays, -1 for an unknown tag.
func (t ValueType) scalarSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	case TypeString, TypeArray:
		return 0
	}
	return -1
}

// TensorType is a ggml tensor element type. This package writes F32 and
// F16 and reads those and BF16; quantized types are outside its scope.
type TensorType uint32

// The ggml types this package handles.
const (
	F32  TensorType = 0
	F16  TensorType = 1
	BF16 TensorType = 30
)

// Size is the width of one element in bytes, 0 for an unsupported type.
func (t TensorType) Size() int {
	switch t {
	case F32:
		return 4
	case F16, BF16:
		return 2
	}
	return 0
}

func (t TensorType) String() string {
	switch t {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case BF16:
		return "BF16"
	}
	return fmt.Sprintf("ggml type %d", uint32(t))
}

// File types (general.file_type) of llama.cpp for the two this package
// writes.
const (
	FileTypeAllF32    = 0
	FileTypeMostlyF16 = 1
)

// Token types (tokenizer.ggml.token_type) of llama.cpp's vocabulary.
const (
	TokenNormal      int32 = 1
	TokenUnknown     int32 = 2
	TokenControl     int32 = 3
	TokenUserDefined int32 = 4
	TokenUnused      int32 = 5
	TokenByte        int32 = 6
)
