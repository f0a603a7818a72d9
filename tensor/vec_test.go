package tensor

import (
	"math"
	"math/rand"
	"testing"
)

// vecLengths cross every unrolling boundary of the assembly loops (8, 16,
// 32 floats) and include the empty vector.
var vecLengths = []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 100, 255, 1000}

func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	forEachKernel(t, func(kn *kernel) {
		for _, n := range vecLengths {
			a, b := randSlice(rng, n), randSlice(rng, n)
			var want, mag float64
			for i := range a {
				want += float64(a[i]) * float64(b[i])
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-6*mag+1e-7 {
				t.Errorf("%s: Dot n=%d = %g, want %g", kn.name, n, got, want)
			}
			y := randSlice(rng, n+1) // y[n] is a sentinel past the end
			y0 := append([]float32(nil), y...)
			Axpy(-0.75, a, y[:n])
			for i := 0; i < n; i++ {
				if want := y0[i] + -0.75*a[i]; math.Abs(float64(y[i]-want)) > 1e-6 {
					t.Fatalf("%s: Axpy n=%d y[%d] = %g, want %g", kn.name, n, i, y[i], want)
				}
			}
			if y[n] != y0[n] {
				t.Fatalf("%s: Axpy n=%d wrote past the end", kn.name, n)
			}
			copy(y, y0)
			kn.scal(1.5, y[:n])
			for i := 0; i < n; i++ {
				if y[i] != 1.5*y0[i] {
					t.Fatalf("%s: scal n=%d y[%d] = %g, want %g", kn.name, n, i, y[i], 1.5*y0[i])
				}
			}
			if y[n] != y0[n] {
				t.Fatalf("%s: scal n=%d wrote past the end", kn.name, n)
			}
		}
	})
}

func TestDotAxpyPanicOnLengthMismatch(t *testing.T) {
	for name, fn := range map[string]func(){
		"Dot":  func() { Dot(make([]float32, 3), make([]float32, 4)) },
		"Axpy": func() { Axpy(1, make([]float32, 4), make([]float32, 3)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic on mismatched lengths", name)
				}
			}()
			fn()
		}()
	}
}

func BenchmarkDot(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	x, y := randSlice(rng, 768), randSlice(rng, 768)
	var s float32
	for i := 0; i < b.N; i++ {
		s += Dot(x, y)
	}
	b.ReportMetric(2*768*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
	_ = s
}
