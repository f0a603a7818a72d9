package train

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// TestBradleyTerryLoss checks the loss and its gradients on hand-computed
// pairs: −log σ(d) at d = 0 is ln 2, with gradient ∓½ per pair / n.
func TestBradleyTerryLoss(t *testing.T) {
	ln2 := math.Ln2
	cases := []struct {
		name    string
		c, r, m []float32
		center  float32
		loss    float64
		dc, dr  []float64
	}{
		{"tie", []float32{1}, []float32{1}, nil, 0, ln2, []float64{-0.5}, []float64{0.5}},
		// d = 2 − 0 − 2 = 0 with the margin.
		{"margin", []float32{2}, []float32{0}, []float32{2}, 0, ln2, []float64{-0.5}, []float64{0.5}},
		// d = ln 3: σ(−d) = 1/4, loss = ln(4/3); two pairs average.
		{"two", []float32{float32(math.Log(3)), 0}, []float32{0, 0}, nil, 0,
			(math.Log(4.0/3) + ln2) / 2, []float64{-0.125, -0.25}, []float64{0.125, 0.25}},
		// Centering: 0.1·(1+1)² = 0.4 added, gradient 2·0.1·2 = 0.4 to both.
		{"center", []float32{1}, []float32{1}, nil, 0.1, ln2 + 0.4, []float64{-0.5 + 0.4}, []float64{0.5 + 0.4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loss, dc, dr := BradleyTerryLoss(tc.c, tc.r, tc.m, tc.center)
			if math.Abs(loss-tc.loss) > 1e-6 {
				t.Errorf("loss %.7f, want %.7f", loss, tc.loss)
			}
			for i := range dc {
				if math.Abs(float64(dc[i])-tc.dc[i]) > 1e-6 || math.Abs(float64(dr[i])-tc.dr[i]) > 1e-6 {
					t.Errorf("pair %d: gradients %g, %g, want %g, %g", i, dc[i], dr[i], tc.dc[i], tc.dr[i])
				}
			}
		})
	}
}

// TestScalarHeadGradient checks the head and transformer gradients of a
// ScalarModel against central differences of its output (in float64 sums
// of float32 passes, so the tolerance is loose).
func TestScalarHeadGradient(t *testing.T) {
	base := toyModel(t, 3)
	rm, err := NewScalarModel(base, 4)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range rm.Head {
		rm.Head[i] = float32(rng.NormFloat64())
	}
	seqs := [][]int32{toyTokens(rng, 7), toyTokens(rng, 4), toyTokens(rng, 9)}
	coef := []float32{0.7, -1.3, 0.4}
	objective := func() float64 {
		r, err := rm.Rewards(seqs, 0)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, v := range r {
			s += float64(coef[i]) * float64(v)
		}
		return s
	}
	rm.ZeroGrad()
	tokens, T := padBatch(seqs)
	if _, err := rm.forwardRows(tokens, len(seqs), T, lastRows(seqs, T)); err != nil {
		t.Fatal(err)
	}
	if err := rm.backwardRows(coef); err != nil {
		t.Fatal(err)
	}
	check := func(name string, param, grad []float32, idx []int) {
		for _, i := range idx {
			const h = 1e-2
			p := param[i]
			param[i] = p + h
			lp := objective()
			param[i] = p - h
			lm := objective()
			param[i] = p
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-float64(grad[i])) > 2e-2*math.Abs(fd)+2e-3 {
				t.Errorf("%s[%d]: gradient %g, finite difference %g", name, i, grad[i], fd)
			}
		}
	}
	check("head", rm.Head, rm.HeadGrad, []int{0, 5, 17, len(rm.Head) - 1})
	ln := rm.Model.Params.Tensors[len(rm.Model.Params.Tensors)-2] // ln_f weight
	lnIdx := 0
	for _, tt := range rm.Model.Params.Tensors {
		if tt.Name == ln.Name {
			break
		}
		lnIdx += len(tt.Data)
	}
	check(ln.Name, rm.Model.Params.Data[lnIdx:], rm.Model.Grads.Data[lnIdx:], []int{0, 3, 11})
	check("wte", rm.Model.Params.TokEmb, rm.Model.Grads.TokEmb, []int{int(seqs[0][0])*32 + 1, int(seqs[1][3])*32 + 7})
}

// TestRewardModelLearnsToyPreferences trains a reward model on pairs
// labelled by the toy gold reward and checks held-out pair accuracy > 0.9,
// that a save/load round trip scores identically, and that the training
// loss went down.
func TestRewardModelLearnsToyPreferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	trainPairs, evalPairs := toyPairs(rng, 384), toyPairs(rng, 256)
	rm, err := NewScalarModel(toyModel(t, 5), 6)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultRewardConfig()
	cfg.LearningRate, cfg.PerDeviceTrainBatchSize, cfg.NumTrainEpochs, cfg.Seed, cfg.LRSchedulerType = 2e-3, 32, 2, 1, "constant"
	race := underRace(t)
	if race {
		trainPairs, evalPairs = trainPairs[:64], evalPairs[:32]
	}
	var first, last []float64
	st, err := TrainRewardModel(rm, trainPairs, evalPairs, cfg, func(s RewardStats) {
		if s.Step < 5 {
			first = append(first, s.Loss)
		}
		last = append(last, s.Loss)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out: accuracy %.3f loss %.3f margin %.2f after %d steps", st.Accuracy, st.Loss, st.Margin, st.Step)
	if race {
		return
	}
	if st.Accuracy <= 0.9 {
		t.Errorf("held-out pair accuracy %.3f, want > 0.9", st.Accuracy)
	}
	if mean(last[len(last)-5:]) >= mean(first) {
		t.Errorf("training loss did not fall: %v then %v", first, last[len(last)-5:])
	}
	dir := filepath.Join(t.TempDir(), "rm")
	if err := rm.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := LoadScalarModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	seqs := [][]int32{evalPairs[0].Chosen, evalPairs[1].Rejected}
	a, _ := rm.Rewards(seqs, 0)
	b, err := back.Rewards(seqs, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("reward %d: %g before save, %g after load", i, a[i], b[i])
		}
	}
}

// TestFilterPairs checks each bad-data case is dropped with its reason.
func TestFilterPairs(t *testing.T) {
	pairs := []PreferencePair{
		{Chosen: []int32{1, 2}, Rejected: []int32{1, 3}},
		{Chosen: []int32{1, 2}, Rejected: []int32{1, 2}},
		{Chosen: nil, Rejected: []int32{1}},
		{Chosen: []int32{1, 2, 3, 4, 5}, Rejected: []int32{1}},
	}
	kept, dropped := FilterPairs(pairs, 4)
	if len(kept) != 1 || len(dropped) != 3 {
		t.Fatalf("kept %d dropped %v", len(kept), dropped)
	}
	for i, want := range []string{"pair 1: chosen equals rejected", "pair 2: empty sequence", "pair 3: 5/1 tokens exceed --max-length 4"} {
		if dropped[i] != want {
			t.Errorf("dropped[%d] = %q, want %q", i, dropped[i], want)
		}
	}
}

// TestRewardGradientAccumulation checks that micro-batches with
// accumulated gradients give the loss and gradient of one whole batch.
func TestRewardGradientAccumulation(t *testing.T) {
	pairs := toyPairs(rand.New(rand.NewPCG(8, 8)), 16)
	step := func(micro, accum int) ([]float32, float64) {
		rm, _ := NewScalarModel(toyModel(t, 5), 6)
		cfg := DefaultRewardConfig()
		cfg.LearningRate, cfg.PerDeviceTrainBatchSize, cfg.GradientAccumulationSteps = 1e-3, micro, accum
		tr, err := NewRewardTrainer(rm, pairs, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		st, err := tr.TrainBatch(pairs)
		if err != nil {
			t.Fatal(err)
		}
		return append(rm.Model.Grads.Data, rm.HeadGrad...), st.Loss
	}
	g1, l1 := step(16, 1)
	g2, l2 := step(4, 4)
	if math.Abs(l1-l2) > 1e-6 {
		t.Errorf("loss %g in one batch, %g in four micro-batches", l1, l2)
	}
	var diff, norm float64
	for i := range g1 {
		d := float64(g1[i] - g2[i])
		diff += d * d
		norm += float64(g1[i]) * float64(g1[i])
	}
	if math.Sqrt(diff) > 1e-5*math.Sqrt(norm) {
		t.Errorf("|gradient difference| %.3g for |gradient| %.3g", math.Sqrt(diff), math.Sqrt(norm))
	}
}
