package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// tinyConfigs covers both families, GQA, biases on and off, and tied and
// untied heads at gradient-check size (vocab 11, dim 8, 2 layers).
func tinyConfigs() []struct {
	name string
	cfg  Config
} {
	gpt2 := GPT2Config(11, 8, 2, 2, 8)
	gpt2NoBias := gpt2
	gpt2NoBias.Bias, gpt2NoBias.TieEmbeddings = false, false
	llamaGQA := LlamaConfig(11, 8, 2, 2, 1, 8, 12)
	llamaMHA := LlamaConfig(11, 8, 2, 4, 4, 8, 12)
	llamaBiasTied := LlamaConfig(11, 8, 2, 4, 2, 8, 12)
	llamaBiasTied.Bias, llamaBiasTied.TieEmbeddings = true, true
	return []struct {
		name string
		cfg  Config
	}{
		{"gpt2", gpt2},
		{"gpt2-nobias-untied", gpt2NoBias},
		{"llama-gqa", llamaGQA},
		{"llama-mha", llamaMHA},
		{"llama-gqa-bias-tied", llamaBiasTied},
	}
}

// randomize gives every weight an O(1) random value (norm weights near 1)
// so the check exercises the nonlinear regime, not GPT-2 init's near-linear
// one.
func randomize(m *Model, seed uint64, std float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, t := range m.Params.Tensors {
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64() * std)
			if isNormWeight(t.Name) {
				t.Data[i] += 1
			}
		}
	}
}

func randTokens(rng *rand.Rand, n, V int) []int32 {
	t := make([]int32, n)
	for i := range t {
		t[i] = int32(rng.IntN(V))
	}
	return t
}

// TestGradCheck compares Backward's gradients for every parameter tensor
// with central differences of the float64 reference model's loss, on a
// sample of coordinates per tensor, for each tiny config, with a mask that
// has zeros (whose targets are out of range, so reading one would fail).
func TestGradCheck(t *testing.T) {
	const B, T = 2, 5
	mask := []float32{1, 0, 1, 1, 0, 1, 1, 1, 0, 1}
	for ci, tc := range tinyConfigs() {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			randomize(m, uint64(ci+1), 0.4)
			rng := rand.New(rand.NewPCG(uint64(ci), 3))
			tokens := randTokens(rng, B*T, tc.cfg.VocabSize)
			targets := randTokens(rng, B*T, tc.cfg.VocabSize)
			for i, w := range mask {
				if w == 0 {
					targets[i] = -100
				}
			}
			loss, err := m.Loss(tokens, targets, mask, B, T)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			ref := newRefModel(m)
			refTargets := append([]int32(nil), targets...)
			for i := range refTargets {
				if mask[i] == 0 {
					refTargets[i] = 0
				}
			}
			want := ref.loss(tokens, refTargets, mask, B, T)
			if math.Abs(float64(loss)-want) > 1e-5*math.Max(1, want) {
				t.Fatalf("loss %.8f, float64 reference %.8f", loss, want)
			}
			for _, pt := range m.Params.Tensors {
				grad := m.Grads.Tensors[indexOf(m.Params.Tensors, pt.Name)].Data
				o := ref.off[pt.Name][0]
				idx := sampleIndices(rng, len(pt.Data), 24)
				var diff, norm float64
				for _, i := range idx {
					const h = 1e-6
					p := ref.p[o+i]
					ref.p[o+i] = p + h
					lp := ref.loss(tokens, refTargets, mask, B, T)
					ref.p[o+i] = p - h
					lm := ref.loss(tokens, refTargets, mask, B, T)
					ref.p[o+i] = p
					fd := (lp - lm) / (2 * h)
					diff += (float64(grad[i]) - fd) * (float64(grad[i]) - fd)
					norm += fd * fd
				}
				diff, norm = math.Sqrt(diff), math.Sqrt(norm)
				if diff > 1e-3*norm+1e-6 {
					t.Errorf("%s: |grad − finite difference| = %.3g, |finite difference| = %.3g (relative %.3g)", pt.Name, diff, norm, diff/norm)
				}
			}
		})
	}
}

func indexOf(ts []Tensor, name string) int {
	for i, t := range ts {
		if t.Name == name {
			return i
		}
	}
	panic("no tensor " + name)
}

// sampleIndices returns all of 0..n-1 when n <= k, else k distinct ones.
func sampleIndices(rng *rand.Rand, n, k int) []int {
	if n <= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rng.Perm(n)[:k]
}

// TestBackwardAccumulates checks that a second Backward adds the same
// gradient again and that ZeroGrad clears it.
func TestBackwardAccumulates(t *testing.T) {
	for _, tc := range tinyConfigs()[:3] {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := New(tc.cfg, 2)
			randomize(m, 5, 0.3)
			rng := rand.New(rand.NewPCG(1, 1))
			tokens, targets := randTokens(rng, 10, 11), randTokens(rng, 10, 11)
			step := func() {
				if _, err := m.Loss(tokens, targets, nil, 2, 5); err != nil {
					t.Fatal(err)
				}
				if err := m.Backward(); err != nil {
					t.Fatal(err)
				}
			}
			step()
			once := append([]float32(nil), m.Grads.Data...)
			step()
			for i, g := range m.Grads.Data {
				if d := math.Abs(float64(g - 2*once[i])); d > 1e-6*math.Max(1, math.Abs(float64(g))) {
					t.Fatalf("gradient %d after two backwards is %g, want 2×%g", i, g, once[i])
				}
			}
			m.ZeroGrad()
			for i, g := range m.Grads.Data {
				if g != 0 {
					t.Fatalf("gradient %d is %g after ZeroGrad", i, g)
				}
			}
			if err := m.Backward(); err == nil {
				t.Fatal("second Backward for one Loss succeeded, want an error")
			}
		})
	}
}

// TestChunkedHead forces the fused head to hold fewer rows than the batch,
// so Backward recomputes logits chunk by chunk, and checks loss and
// gradients match the single-chunk path.
func TestChunkedHead(t *testing.T) {
	cfg := tinyConfigs()[2].cfg
	run := func(chunkFloats int) (float32, []float32) {
		old := maxHeadFloats
		maxHeadFloats = chunkFloats
		defer func() { maxHeadFloats = old }()
		m, _ := New(cfg, 3)
		randomize(m, 9, 0.3)
		rng := rand.New(rand.NewPCG(4, 4))
		tokens, targets := randTokens(rng, 12, 11), randTokens(rng, 12, 11)
		loss, err := m.Loss(tokens, targets, nil, 3, 4)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
		return loss, m.Grads.Data
	}
	l1, g1 := run(1 << 20)
	l2, g2 := run(5 * 11) // 5 rows per chunk: 3 chunks, the last partial
	// Equal up to summation order (the matmuls block differently).
	if math.Abs(float64(l1-l2)) > 1e-6*math.Abs(float64(l1)) {
		t.Fatalf("loss %v with one chunk, %v chunked", l1, l2)
	}
	for i := range g1 {
		if math.Abs(float64(g1[i]-g2[i])) > 1e-6 {
			t.Fatalf("gradient %d: %g with one chunk, %g chunked", i, g1[i], g2[i])
		}
	}
}

func ExampleModel_Loss() {
	m, _ := New(GPT2Config(16, 8, 1, 2, 8), 1)
	tokens := []int32{1, 2, 3, 4}
	targets := []int32{2, 3, 4, 5}
	loss, _ := m.Loss(tokens, targets, nil, 1, 4)
	_ = m.Backward()
	fmt.Printf("%.2f\n", loss) // about ln 16 at initialisation
	// Output: 2.81
}
