//go:build amd64 && !purego

package train

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		adamKernel = adamAVX2
	}
}

// adamwAVX2 runs the update on n (a multiple of 8) floats.
//
//go:noescape
func adamwAVX2(n int, p, grad, m, v *float32, k *adamConsts)

func adamAVX2(p, g, m, v []float32, k *adamConsts) {
	n := len(p) &^ 7
	if n > 0 {
		g, m, v = g[:n], m[:n], v[:n] // bounds checks for the assembly
		adamwAVX2(n, &p[0], &g[0], &m[0], &v[0], k)
	}
	adamGeneric(p[n:], g[n:], m[n:], v[n:], k)
}
