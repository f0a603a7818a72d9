package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/alignlab/alignlab/model"
)

// refAdamW is torch.optim.AdamW's update written out in float64.
func refAdamW(p, g, m, v []float64, step int, lr, b1, b2, eps, wd float64, decay func(i int) bool) {
	bc1 := 1 - math.Pow(b1, float64(step))
	bc2 := 1 - math.Pow(b2, float64(step))
	for i := range p {
		if decay(i) {
			p[i] *= 1 - lr*wd
		}
		m[i] = b1*m[i] + (1-b1)*g[i]
		v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
		denom := math.Sqrt(v[i])/math.Sqrt(bc2) + eps
		p[i] -= lr / bc1 * m[i] / denom
	}
}

func TestAdamWMatchesPyTorchFormula(t *testing.T) {
	const n = 3*adamBlock + 123 // several parallel blocks and a partial one
	noDecay := []Span{{10, 20}, {adamBlock - 5, adamBlock + 5}, {n - 7, n}}
	exempt := func(i int) bool {
		for _, s := range noDecay {
			if i >= s.Lo && i < s.Hi {
				return true
			}
		}
		return false
	}
	cfg := AdamWConfig{LR: 1e-2, WeightDecay: 0.1, NoDecay: noDecay} // betas and eps from defaults
	opt := NewAdamW(n, cfg)
	if opt.Beta1 != 0.9 || opt.Beta2 != 0.999 || opt.Eps != 1e-8 {
		t.Fatalf("defaults: beta1 %v beta2 %v eps %v", opt.Beta1, opt.Beta2, opt.Eps)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	p32, g32 := make([]float32, n), make([]float32, n)
	p64, m64, v64, g64 := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range p32 {
		p32[i] = float32(rng.NormFloat64())
		p64[i] = float64(p32[i])
	}
	for step := 1; step <= 5; step++ {
		for i := range g32 {
			g32[i] = float32(rng.NormFloat64() * 0.1)
			g64[i] = float64(g32[i])
		}
		lr := float32(1e-2 / float64(step))
		opt.Step(p32, g32, lr)
		refAdamW(p64, g64, m64, v64, step, float64(lr), 0.9, 0.999, 1e-8, 0.1, func(i int) bool { return !exempt(i) })
	}
	for i := range p32 {
		if d := math.Abs(float64(p32[i]) - p64[i]); d > 1e-5 {
			t.Fatalf("param %d: AdamW %v, reference %v", i, p32[i], p64[i])
		}
	}
	// The exempt spans really are exempt: with zero gradients only decay
	// moves a parameter.
	opt2 := NewAdamW(n, cfg)
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	opt2.Step(ones, make([]float32, n), 0.5)
	for i, p := range ones {
		want := float32(1 - 0.5*0.1)
		if exempt(i) {
			want = 1
		}
		if p != want {
			t.Fatalf("param %d after a zero-gradient step: %v, want %v", i, p, want)
		}
	}
}

func TestNoDecaySpansAreTheOneDimensionalTensors(t *testing.T) {
	m, err := model.New(model.GPT2Config(11, 8, 2, 2, 8), 1)
	if err != nil {
		t.Fatal(err)
	}
	spans := NoDecaySpans(m.Params)
	covered := 0
	for _, s := range spans {
		covered += s.Hi - s.Lo
	}
	want := 0
	for _, tn := range m.Params.Tensors {
		if len(tn.Shape) == 1 {
			want += len(tn.Data)
		}
	}
	// Per layer: ln_1 w+b, qkv bias, out bias, ln_2 w+b, fc bias, proj bias;
	// plus ln_f w+b.
	if covered != want || want != 2*(8+8+24+8+8+8+32+8)+16 {
		t.Fatalf("exempt floats %d, one-dimensional floats %d", covered, want)
	}
	runs := decayRuns(len(m.Params.Data), spans)
	if runs[0].lo != 0 || runs[len(runs)-1].hi != len(m.Params.Data) {
		t.Fatalf("runs %v do not cover the buffer", runs)
	}
	for i := 1; i < len(runs); i++ {
		if runs[i].lo != runs[i-1].hi || runs[i].decay == runs[i-1].decay {
			t.Fatalf("runs %d and %d are not adjacent alternating runs: %v", i-1, i, runs)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	g := make([]float32, 2*clipBlock+3)
	g[0], g[clipBlock+1], g[len(g)-1] = 3, 4, 12 // norm 13
	if n := ClipGradNorm(g, 0); n != 13 || g[0] != 3 {
		t.Fatalf("measure only: norm %v, g[0] %v", n, g[0])
	}
	if n := ClipGradNorm(g, 20); n != 13 || g[0] != 3 {
		t.Fatalf("below the limit: norm %v, g[0] %v", n, g[0])
	}
	if n := ClipGradNorm(g, 1.3); n != 13 {
		t.Fatalf("norm before clipping %v, want 13", n)
	}
	if n := GradNorm(g); math.Abs(float64(n)-1.3) > 1e-5 {
		t.Fatalf("norm after clipping %v, want 1.3", n)
	}
	g[5] = float32(math.NaN())
	if n := ClipGradNorm(g, 1); !math.IsNaN(float64(n)) || g[0] == 0 {
		t.Fatalf("NaN gradient: norm %v", n)
	}
}

func TestCosineSchedule(t *testing.T) {
	for _, tc := range []struct {
		step int
		want float32
	}{
		{0, 0.25}, {1, 0.5}, {3, 1}, // warmup over 4 steps
		{4, 1},                // cosine starts at the peak
		{9, 0.55},             // halfway from step 4 to 14: (1+0.1)/2
		{14, 0.1}, {100, 0.1}, // then stays at minLR
	} {
		if got := CosineSchedule(tc.step, 4, 14, 1, 0.1); math.Abs(float64(got-tc.want)) > 1e-6 {
			t.Errorf("step %d: lr %v, want %v", tc.step, got, tc.want)
		}
	}
}

func TestAdamWStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop entries at random")
	}
	opt := NewAdamW(1000, DefaultAdamWConfig())
	p, g := make([]float32, 1000), make([]float32, 1000)
	if a := testing.AllocsPerRun(10, func() { opt.Step(p, g, 1e-3) }); a > tensorParallelAllocs {
		t.Fatalf("AdamW.Step allocates %v times per call", a)
	}
	if a := testing.AllocsPerRun(10, func() { ClipGradNorm(g, 1) }); a > tensorParallelAllocs {
		t.Fatalf("ClipGradNorm allocates %v times per call", a)
	}
}

// tensorParallelAllocs is what tensor.Parallel itself may allocate per call
// (one block here, so it runs inline): nothing.
const tensorParallelAllocs = 0

// TestStepScaledEqualsClipThenStep checks the trainer's fused clipping
// against clipping the gradients first.
func TestStepScaledEqualsClipThenStep(t *testing.T) {
	const n = 1000
	rng := rand.New(rand.NewPCG(3, 3))
	p1, g1 := make([]float32, n), make([]float32, n)
	for i := range p1 {
		p1[i], g1[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	p2, g2 := append([]float32(nil), p1...), append([]float32(nil), g1...)
	a, b := NewAdamW(n, DefaultAdamWConfig()), NewAdamW(n, DefaultAdamWConfig())
	for step := 0; step < 3; step++ {
		norm := ClipGradNorm(g1, 0.5)
		a.Step(p1, g1, 1e-2)
		b.StepScaled(p2, g2, 1e-2, float32(0.5/(float64(norm)+1e-6)))
		copy(g1, g2)
	}
	for i := range p1 {
		if math.Abs(float64(p1[i]-p2[i])) > 1e-6 {
			t.Fatalf("param %d: %v clipped then stepped, %v scaled in the step", i, p1[i], p2[i])
		}
	}
}

// TestAdamKernelMatchesGeneric compares the kernel in use (AVX2 where
// available) with the portable loop, including lengths with a tail.
func TestAdamKernelMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{1, 7, 8, 9, 100, 1027} {
		mk := func() []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			return x
		}
		p, g, m, v := mk(), mk(), mk(), mk()
		for i := range v {
			v[i] *= v[i]
		}
		p2, m2, v2 := slices.Clone(p), slices.Clone(m), slices.Clone(v)
		k := adamConsts{b1: 0.9, c1: 0.1, b2: 0.999, c2: 0.001, gradScale: 0.7, keep: 0.999, step: 0.01, invRootBC2: 3, eps: 1e-8}
		adamKernel(p, g, m, v, &k)
		adamGeneric(p2, g, m2, v2, &k)
		for i := range p {
			if d := math.Abs(float64(p[i] - p2[i])); d > 1e-6*math.Max(1, math.Abs(float64(p2[i]))) {
				t.Fatalf("n=%d, param %d: kernel %v, generic %v", n, i, p[i], p2[i])
			}
			if math.Abs(float64(m[i]-m2[i])) > 1e-6 || math.Abs(float64(v[i]-v2[i])) > 1e-6 {
				t.Fatalf("n=%d, moment %d differs", n, i)
			}
		}
	}
}
