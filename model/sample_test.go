package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func genRandLogits(rng *rand.Rand, n int, scale float64) []float32 {
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(rng.NormFloat64() * scale)
	}
	return l
}

// genRefDist returns the distribution Sample should draw from, computed
// independently in float64 with a full sort.
func genRefDist(logits []float32, temp float64, topK int, topP float64) []float64 {
	V := len(logits)
	idx := make([]int, V)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if topK > 0 && topK < V {
		idx = idx[:topK]
	}
	w := make([]float64, len(idx))
	var z float64
	for j, i := range idx {
		w[j] = math.Exp((float64(logits[i]) - float64(logits[idx[0]])) / temp)
		z += w[j]
	}
	keep := len(idx)
	if topP > 0 && topP < 1 {
		var acc float64
		for j := range idx {
			acc += w[j] / z
			if acc >= topP {
				keep = j + 1
				break
			}
		}
	}
	var zk float64
	for j := 0; j < keep; j++ {
		zk += w[j]
	}
	p := make([]float64, V)
	for j := 0; j < keep; j++ {
		p[idx[j]] = w[j] / zk
	}
	return p
}

func logSoftmax64(logits []float32, i int) float64 {
	mx := math.Inf(-1)
	for _, l := range logits {
		mx = math.Max(mx, float64(l))
	}
	var z float64
	for _, l := range logits {
		z += math.Exp(float64(l) - mx)
	}
	return float64(logits[i]) - mx - math.Log(z)
}

// TestSampleFrequencies draws many tokens from a fixed logit vector under
// several settings and checks the counts against the expected distribution
// with a chi-square bound (p ≈ 1e-4 for the degrees of freedom involved;
// the seed is fixed, so the test is deterministic), that no token outside
// the support ever appears, and both reported log-probs.
func TestSampleFrequencies(t *testing.T) {
	logits := []float32{1.2, -0.3, 0.8, 2.0, 0.0, -1.5, 1.9, 0.5, 0.5, -0.7}
	for _, tc := range []struct {
		name string
		temp float32
		topK int
		topP float32
	}{
		{"plain", 1, 0, 0},
		{"hot", 1.7, 0, 0},
		{"cold", 0.6, 0, 0},
		{"top-k 4", 1, 4, 0},
		{"top-p 0.8", 1, 0, 0.8},
		{"top-k 6 top-p 0.7 cold", 0.8, 6, 0.7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := genRefDist(logits, float64(tc.temp), tc.topK, float64(tc.topP))
			s := NewSampler(11)
			const n = 60000
			counts := make([]int, len(logits))
			for range n {
				d := s.Sample(logits, tc.temp, tc.topK, tc.topP)
				counts[d.Token]++
				if lp := logSoftmax64(logits, int(d.Token)); math.Abs(float64(d.LogProb)-lp) > 1e-5 {
					t.Fatalf("token %d: LogProb %g, want log-softmax %g", d.Token, d.LogProb, lp)
				}
				if sp := math.Log(want[d.Token]); math.Abs(float64(d.SampleLogProb)-sp) > 1e-5 {
					t.Fatalf("token %d: SampleLogProb %g, want %g", d.Token, d.SampleLogProb, sp)
				}
			}
			var chi2 float64
			dof := -1
			for i, c := range counts {
				if want[i] == 0 {
					if c != 0 {
						t.Fatalf("token %d outside the support drawn %d times", i, c)
					}
					continue
				}
				e := want[i] * n
				chi2 += (float64(c) - e) * (float64(c) - e) / e
				dof++
			}
			// Upper 1e-4 quantiles of chi-square for 1..9 degrees of freedom.
			bound := []float64{0, 15.1, 18.4, 21.1, 23.5, 25.7, 27.9, 29.9, 31.8, 33.7}[dof]
			if chi2 > bound {
				t.Fatalf("chi-square %.1f over %d dof exceeds %.1f: counts %v, want p %v", chi2, dof, bound, counts, want)
			}
		})
	}
}

// TestSampleDegenerateSettingsAreGreedy: temperature 0, top-k 1, a tiny
// top-p and a tiny temperature all pick the argmax.
func TestSampleDegenerateSettingsAreGreedy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := NewSampler(3)
	for trial := range 200 {
		logits := genRandLogits(rng, 500, 2)
		best := 0
		for i, l := range logits {
			if l > logits[best] {
				best = i
			}
		}
		for _, tc := range []struct {
			name string
			temp float32
			topK int
			topP float32
		}{
			{"temperature 0", 0, 0, 0},
			{"top-k 1", 1.3, 1, 0},
			{"top-p tiny", 1, 0, 1e-6},
			{"top-k and top-p tiny", 1, 50, 1e-6},
			{"temperature 1e-4", 1e-4, 0, 0},
			{"temperature 1e-30", 1e-30, 0, 0},
			{"temperature 1e-38 (scaled logits overflow)", 1e-38, 0, 0},
			{"temperature 1e-38, top-k", 1e-38, 3, 0},
			{"temperature 1e-38, top-p", 1e-38, 0, 0.9},
		} {
			d := s.Sample(logits, tc.temp, tc.topK, tc.topP)
			if int(d.Token) != best {
				t.Fatalf("trial %d %s: token %d, want argmax %d", trial, tc.name, d.Token, best)
			}
			if lp := logSoftmax64(logits, best); math.Abs(float64(d.LogProb)-lp) > 1e-5 {
				t.Fatalf("%s: LogProb %g, want %g", tc.name, d.LogProb, lp)
			}
		}
	}
	// Ties go to the lowest index.
	if d := s.Sample([]float32{0, 3, 1, 3}, 0, 0, 0); d.Token != 1 {
		t.Fatalf("tie: token %d, want 1", d.Token)
	}
	// A +Inf logit takes all the mass: log-probability 0, not NaN; a NaN
	// maximum gives NaN.
	inf := float32(math.Inf(1))
	if d := s.Sample([]float32{0, inf, 1, inf}, 1, 0, 0.9); d.Token != 1 || d.LogProb != 0 {
		t.Fatalf("+Inf logit: %+v, want token 1 with log-prob 0", d)
	}
	if d := s.Sample([]float32{0, float32(math.NaN()), 1}, 1, 0, 0); d.Token != 1 || d.LogProb == d.LogProb {
		t.Fatalf("NaN logit: %+v, want token 1 with log-prob NaN", d)
	}
}

func TestSamplerSeeds(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	logits := genRandLogits(rng, 100, 1)
	draw := func(seed int64) []int32 {
		s := NewSampler(seed)
		var out []int32
		for range 50 {
			out = append(out, s.Sample(logits, 1, 0, 0).Token)
		}
		return out
	}
	if a, b := draw(5), draw(5); !slices.Equal(a, b) {
		t.Fatal("same seed gave different draws")
	}
	if a, b := draw(5), draw(6); slices.Equal(a, b) {
		t.Fatal("seeds 5 and 6 gave identical draws")
	}
}

// TestTopKAndNucleusSelection checks the heap-based top-k and the
// histogram-based nucleus against a full sort, ties included.
func TestTopKAndNucleusSelection(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	s := NewSampler(0)
	for trial := range 340 {
		V, scale := 1+rng.IntN(300), 1.0
		if trial >= 300 { // large, nearly flat: a big nucleus, crowded buckets
			V, scale = 5000+rng.IntN(30000), 0.05
		}
		logits := genRandLogits(rng, V, scale)
		for i := range logits { // plenty of ties
			if rng.IntN(3) == 0 {
				logits[i] = float32(rng.IntN(4))
			}
		}
		k := 1 + rng.IntN(V)
		if trial >= 310 {
			// A small k over a large vocabulary: topK heaps the head and
			// scans the rest against the heap's weakest, which must
			// not lose a tie at the threshold or a candidate past the
			// head. Some trials sort the logits so that the head holds
			// the smallest (every later one passes) or the largest.
			k = 1 + rng.IntN(100)
			switch trial % 3 {
			case 1:
				slices.Sort(logits)
			case 2:
				slices.Sort(logits)
				slices.Reverse(logits)
			}
		}
		order := make([]int32, V)
		for i := range order {
			order[i] = int32(i)
		}
		sort.SliceStable(order, func(a, b int) bool { return logits[order[a]] > logits[order[b]] })
		s.probs = make([]float32, V)
		s.heap = make([]int32, 0, V)
		if got := s.topK(logits, k); !slices.Equal(got, order[:k]) {
			t.Fatalf("trial %d: top-%d %v, want %v", trial, k, got, order[:k])
		}
		var z float64
		for i, l := range logits {
			s.probs[i] = float32(math.Exp(float64(l)))
			z += float64(s.probs[i])
		}
		p := float32(rng.Float64())
		s.edge = make([]int32, 0, V)
		ns := s.nucleus(s.probs, z, p)
		got := slices.Clone(ns.rest)
		var mass float64
		for i, q := range s.probs {
			if q >= ns.floor {
				got = append(got, int32(i))
				mass += float64(q)
			}
		}
		for _, i := range ns.rest {
			mass += float64(s.probs[i])
		}
		if math.Abs(mass-ns.z) > 1e-9*z {
			t.Fatalf("trial %d: nucleus mass %v, its members sum to %v", trial, ns.z, mass)
		}
		var acc float64
		n := 0
		for n < V {
			acc += float64(s.probs[order[n]])
			n++
			if acc >= float64(p)*z {
				break
			}
		}
		want := slices.Clone(order[:n])
		slices.Sort(got) // the nucleus is a set: its draw order is free
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: nucleus %v, want %v", trial, got, want)
		}
	}
}

func BenchmarkSample32k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	logits := genRandLogits(rng, 32000, 3)
	for _, bc := range []struct {
		name string
		temp float32
		topK int
		topP float32
	}{{"greedy", 0, 0, 0}, {"plain", 1, 0, 0}, {"topk40", 1, 40, 0}, {"topp0.9", 1, 0, 0.9}, {"topk40-topp0.9", 1, 40, 0.9}} {
		b.Run(bc.name, func(b *testing.B) {
			s := NewSampler(1)
			for b.Loop() {
				s.Sample(logits, bc.temp, bc.topK, bc.topP)
			}
		})
	}
	// A randomly initialised model's logits are nearly flat (the
	// generation benchmarks' case): most of the vocabulary is in the
	// nucleus and shares a few histogram buckets.
	flat := genRandLogits(rng, 32000, 0.05)
	b.Run("topp0.9-flat", func(b *testing.B) {
		s := NewSampler(1)
		for b.Loop() {
			s.Sample(flat, 1, 0, 0.9)
		}
	})
	// What bench engine's randomly initialised stories15M gives: the
	// nucleus boundary about four octaves below the top, three quarters of
	// the vocabulary inside.
	gen := genRandLogits(rng, 32000, 0.6)
	b.Run("topp0.9-gen", func(b *testing.B) {
		s := NewSampler(1)
		for b.Loop() {
			s.Sample(gen, 1, 0, 0.9)
		}
	})
}
