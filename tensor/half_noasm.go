//go:build !amd64 || purego

package tensor

// halfKernel reports whether the fp16 kernels run: never without assembly.
func halfKernel() bool { return false }

func f32to16(n8 int, src []float32, dst []uint16) { panic("tensor: no fp16 kernel") }

func f16to32(n8 int, src []uint16, dst []float32) { panic("tensor: no fp16 kernel") }

func matvec8h(k8, blocks int, x []float32, w []uint16, ldw int, out []float32) {
	panic("tensor: no fp16 kernel")
}

func matvec8hp(k8, blocks int, x []float32, w []uint16, ldw int, out []float32, next []uint16) {
	panic("tensor: no fp16 kernel")
}

func vecmath(n8 int, a []float32, w []uint16, ldw int, out []float32) {
	panic("tensor: no fp16 kernel")
}

func doth(k8 int, x []float32, w []uint16) float32 { panic("tensor: no fp16 kernel") }
