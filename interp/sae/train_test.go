package sae

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGradients checks the analytic gradient of every parameter against
// central finite differences of the loss, for each architecture and loss
// term (AuxK with every non-firing latent dead).
func TestGradients(t *testing.T) {
	// sparse: the fraction of latents firing below which ReLU takes the
	// sparse path (0: never, 2: always).
	cases := []struct {
		name   string
		arch   Architecture
		train  TrainConfig
		sparse float64
	}{
		{"relu-l1-dense", Standard, TrainConfig{L1Coeff: 0.3}, 0},
		{"relu-l1-sparse", Standard, TrainConfig{L1Coeff: 0.3}, 2},
		{"relu-l1-decnorm-dense", Standard, TrainConfig{L1Coeff: 0.3, ScaleL1ByDecoderNorm: true}, 0},
		{"relu-l1-decnorm-sparse", Standard, TrainConfig{L1Coeff: 0.3, ScaleL1ByDecoderNorm: true}, 2},
		{"topk", TopK, TrainConfig{AuxKCoeff: -1}, 0},
		{"topk-auxk", TopK, TrainConfig{AuxKCoeff: 0.5, KAux: 4, DeadTokens: 1}, 0},
	}
	const d, m, b, k = 6, 12, 5, 3
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(d, m, tc.arch, k, 7)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			for _, p := range [][]float32{s.WEnc, s.BEnc, s.WDec, s.BDec} {
				for i := range p {
					p[i] += float32(rng.NormFloat64() * 0.3)
				}
			}
			x := make([]float32, b*d)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			tc.train.Batch, tc.train.LR = b, 1e-3
			tr, err := NewTrainer(s, tc.train)
			if err != nil {
				t.Fatal(err)
			}
			tr.ensure(b)
			tr.sparseBelow = tc.sparse
			loss := func() float64 {
				clear(tr.since)
				return tr.forwardBackward(x, b).Loss
			}
			loss()
			if tc.train.AuxKCoeff > 0 {
				// AuxK's residual is a constant to its gradient (stop-gradient).
				tr.fixedResid = make([]float32, b*d)
				for i := range tr.fixedResid {
					tr.fixedResid[i] = tr.xh[i] - x[i]
				}
				loss()
			}
			if tc.train.AuxKCoeff > 0 && tr.ka == 0 {
				t.Fatal("no dead latents: the AuxK term is not exercised")
			}
			names := []string{"W_enc", "b_enc", "W_dec", "b_dec"}
			params := [][]float32{s.WEnc, s.BEnc, s.WDec, s.BDec}
			grads := [][]float32{tr.gWEnc, tr.gBEnc, tr.gWDec, tr.gBDec}
			var ga [][]float32
			for _, g := range grads {
				ga = append(ga, append([]float32(nil), g...))
			}
			checked := 0
			for p, w := range params {
				for i := range w {
					old := w[i]
					const eps = 1e-2
					w[i] = old + eps
					lp := loss()
					w[i] = old - eps
					lm := loss()
					w[i] = old
					num := (lp - lm) / (2 * eps)
					an := float64(ga[p][i])
					if math.Abs(num-an) > 2e-3+2e-2*math.Abs(num) {
						t.Errorf("%s[%d]: analytic %.5f, numeric %.5f", names[p], i, an, num)
					}
					if an != 0 {
						checked++
					}
				}
			}
			if checked < 20 {
				t.Fatalf("only %d nonzero gradient entries checked", checked)
			}
		})
	}
}

// syntheticData returns n samples in dimension d, each a nonnegative
// combination of a few of nf random unit features (each on with
// probability p, magnitude uniform in [0.5, 1.5]), and the features.
func syntheticData(n, d, nf int, p float64, seed uint64) (x, feats []float32) {
	rng := rand.New(rand.NewPCG(seed, 99))
	feats = make([]float32, nf*d)
	for f := 0; f < nf; f++ {
		row := feats[f*d : (f+1)*d]
		for i := range row {
			row[i] = float32(rng.NormFloat64())
		}
		nn := norm(row)
		for i := range row {
			row[i] /= nn
		}
	}
	x = make([]float32, n*d)
	for r := 0; r < n; r++ {
		for f := 0; f < nf; f++ {
			if rng.Float64() < p {
				a := float32(0.5 + rng.Float64())
				for i := 0; i < d; i++ {
					x[r*d+i] += a * feats[f*d+i]
				}
			}
		}
	}
	return x, feats
}

// recovered returns the fraction of ground-truth features that some
// decoder row matches with cosine similarity >= thr.
func recovered(s *SAE, feats []float32, nf int, thr float32) float64 {
	d := s.DIn
	hit := 0
	for f := 0; f < nf; f++ {
		g := feats[f*d : (f+1)*d]
		best := float32(-1)
		for j := 0; j < s.DSae; j++ {
			w := s.WDec[j*d : (j+1)*d]
			if c := dot(g, w) / (norm(w) + 1e-12); c > best {
				best = c
			}
		}
		if best >= thr {
			hit++
		}
	}
	return float64(hit) / float64(nf)
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// TestRecoversSparseFeatures trains each architecture on data made of 64
// known sparse directions in d = 32 and requires that at least 90% of them
// have a decoder row with cosine similarity >= 0.9.
func TestRecoversSparseFeatures(t *testing.T) {
	const n, d, nf = 8192, 32, 64
	x, feats := syntheticData(n, d, nf, 3.0/nf, 11)
	cases := []struct {
		name string
		arch Architecture
		k    int
		tc   TrainConfig
	}{
		{"relu-l1", Standard, 0, TrainConfig{L1Coeff: 0.5, L1WarmupSteps: 200}},
		{"relu-l1-decoder-norm", Standard, 0, TrainConfig{L1Coeff: 0.5, L1WarmupSteps: 200, ScaleL1ByDecoderNorm: true}},
		{"topk", TopK, 4, TrainConfig{DeadTokens: 4096}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(d, 2*nf, c.arch, c.k, 5)
			if err != nil {
				t.Fatal(err)
			}
			c.tc.Batch, c.tc.LR, c.tc.LRWarmupSteps = 256, 3e-3, 50
			stats, err := Fit(s, x, n, FitConfig{TrainConfig: c.tc, Steps: 1500, Seed: 1, MedianInit: true})
			if err != nil {
				t.Fatal(err)
			}
			last := stats[len(stats)-1]
			frac := recovered(s, feats, nf, 0.9)
			t.Logf("%s: recovered %.3f of %d features at cos >= 0.9; MSE %.4f, L0 %.2f, explained variance %.3f, dead %.3f",
				c.name, frac, nf, last.MSE, last.L0, last.ExplainedVariance, last.Dead)
			if frac < 0.9 {
				t.Errorf("recovered %.3f of the features at cos >= 0.9, want >= 0.9", frac)
			}
			// Samples have 3 features on average, up to ~8: L1 shrinks
			// and k = 4 truncates, so the bar is below 1.
			if last.ExplainedVariance < 0.8 {
				t.Errorf("explained variance %.3f, want >= 0.8", last.ExplainedVariance)
			}
		})
	}
}

// TestAuxKRevivesDeadLatents starts a TopK SAE with half its latents dead
// (encoder bias -5, so they never reach the top k) and requires that the
// AuxK loss brings the dead fraction well below where it stays without.
func TestAuxKRevivesDeadLatents(t *testing.T) {
	const n, d, nf, m = 8192, 32, 64, 128
	x, _ := syntheticData(n, d, nf, 3.0/nf, 11)
	dead := map[bool]float64{}
	for _, aux := range []bool{false, true} {
		s, err := New(d, m, TopK, 4, 5)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < m/2; j++ {
			s.BEnc[j] = -5
		}
		tc := TrainConfig{AuxKCoeff: -1, DeadTokens: 2048, Batch: 256, LR: 3e-3, LRWarmupSteps: 50}
		if aux {
			tc.AuxKCoeff = 1.0 / 32
		}
		stats, err := Fit(s, x, n, FitConfig{TrainConfig: tc, Steps: 600, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		dead[aux] = stats[len(stats)-1].Dead
	}
	t.Logf("dead fraction after 600 steps: %.3f without AuxK, %.3f with", dead[false], dead[true])
	if dead[false] < 0.45 {
		t.Errorf("the setup should keep ~half the latents dead without AuxK, got %.3f", dead[false])
	}
	if dead[true] > dead[false]/2 {
		t.Errorf("AuxK left %.3f dead, want at most half of %.3f", dead[true], dead[false])
	}
}

// TestNewTrainerRejectsNegativeOptions: a negative KAux used to panic in
// make; negative dead-token counts and L1 coefficients are errors too.
func TestNewTrainerRejectsNegativeOptions(t *testing.T) {
	for _, tc := range []TrainConfig{{KAux: -5}, {DeadTokens: -1}, {L1Coeff: -1}} {
		s, err := New(6, 12, TopK, 3, 7)
		if err != nil {
			t.Fatal(err)
		}
		tc.Batch, tc.LR = 4, 1e-3
		if _, err := NewTrainer(s, tc); err == nil {
			t.Errorf("%+v: no error", tc)
		}
	}
}
