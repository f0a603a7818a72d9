package train

import (
	"math"
	"testing"
)

// The expected values were computed independently (Python, float64) from
// the formulas in TRL's dpo_loss, simpo_loss and odds_ratio_loss.
func TestPairLossValues(t *testing.T) {
	p := PairLogps{Chosen: -10, Rejected: -12, RefChosen: -11, RefRejected: -11.5, ChosenLen: 4, RejectedLen: 5}
	cases := []struct {
		cfg              PairLossConfig
		loss             float64
		rewardC, rewardR float64
	}{
		{PairLossConfig{LossType: LossSigmoid, Beta: 0.1}, 0.6209570477895321, 0.1, -0.05},
		{PairLossConfig{LossType: LossSigmoid, Beta: 0.1, LabelSmoothing: 0.2}, 0.6509570477895321, 0.1, -0.05},
		{PairLossConfig{LossType: LossRobust, Beta: 0.1, LabelSmoothing: 0.2}, 0.570957047789532, 0.1, -0.05},
		{PairLossConfig{LossType: LossHinge, Beta: 0.1}, 0.85, 0.1, -0.05},
		{PairLossConfig{LossType: LossIPO, Beta: 0.1}, 21.6225, 0.1 * (-10.0/4 + 11.0/4), 0.1 * (-12.0/5 + 11.5/5)},
		{PairLossConfig{LossType: LossSimPO, Beta: 0.1, SimPOGamma: 0.5}, 0.980313318044875, 0.1 * -2.5, 0.1 * -2.4},
		{PairLossConfig{LossType: LossORPO, Beta: 0.1}, 0.07493685653683034, 0.1 * -2.5, 0.1 * -2.4},
	}
	for _, c := range cases {
		if err := c.cfg.Validate(); err != nil {
			t.Fatalf("%+v: %v", c.cfg, err)
		}
		r := c.cfg.PairLoss(p)
		name := c.cfg.LossType
		if math.Abs(r.Loss-c.loss) > 1e-12 {
			t.Errorf("%s (ε=%g): loss %.16g, want %.16g", name, c.cfg.LabelSmoothing, r.Loss, c.loss)
		}
		if math.Abs(r.RewardChosen-c.rewardC) > 1e-12 || math.Abs(r.RewardRejected-c.rewardR) > 1e-12 {
			t.Errorf("%s: rewards %g, %g, want %g, %g", name, r.RewardChosen, r.RewardRejected, c.rewardC, c.rewardR)
		}
	}
	orpo := PairLossConfig{LossType: LossORPO, Beta: 0.1}.PairLoss(p)
	if math.Abs(orpo.LogOdds - -0.10944946678036466) > 1e-12 || math.Abs(orpo.LogSigmoidOdds - -0.7493685653683033) > 1e-12 {
		t.Errorf("orpo log odds %g, log σ %g", orpo.LogOdds, orpo.LogSigmoidOdds)
	}
}

// Each loss's derivatives with respect to the summed log-probs match
// central finite differences, at points on both sides of the hinge and
// with and without label smoothing.
func TestPairLossGradients(t *testing.T) {
	points := []PairLogps{
		{Chosen: -10, Rejected: -12, RefChosen: -11, RefRejected: -11.5, ChosenLen: 4, RejectedLen: 5},
		{Chosen: -30, Rejected: -8, RefChosen: -25, RefRejected: -9, ChosenLen: 12, RejectedLen: 3},
		{Chosen: -0.7, Rejected: -2.1, RefChosen: -0.9, RefRejected: -1.0, ChosenLen: 1, RejectedLen: 2},
	}
	cfgs := []PairLossConfig{
		{LossType: LossSigmoid, Beta: 0.1},
		{LossType: LossSigmoid, Beta: 0.5, LabelSmoothing: 0.1},
		{LossType: LossRobust, Beta: 0.3, LabelSmoothing: 0.25},
		{LossType: LossHinge, Beta: 0.1},
		{LossType: LossHinge, Beta: 2},
		{LossType: LossIPO, Beta: 0.1},
		{LossType: LossSimPO, Beta: 2, SimPOGamma: 0.5},
		{LossType: LossSimPO, Beta: 2, SimPOGamma: 1, LabelSmoothing: 0.1},
		{LossType: LossORPO, Beta: 0.1},
		{LossType: LossORPO, Beta: 1},
	}
	const h = 1e-5
	for _, c := range cfgs {
		for _, p := range points {
			r := c.PairLoss(p)
			for k, d := range []float64{r.DChosen, r.DRejected} {
				up, down := p, p
				if k == 0 {
					up.Chosen += h
					down.Chosen -= h
				} else {
					up.Rejected += h
					down.Rejected -= h
				}
				num := (c.PairLoss(up).Loss - c.PairLoss(down).Loss) / (2 * h)
				if math.Abs(num-d) > 1e-6*math.Max(1, math.Abs(num)) {
					t.Errorf("%s β=%g ε=%g at %+v: d/d%s = %g, finite difference %g", c.LossType, c.Beta, c.LabelSmoothing, p, []string{"chosen", "rejected"}[k], d, num)
				}
			}
			// The reference enters with the opposite sign of the policy
			// for reference-based losses; reference-free ones ignore it.
			moved := p
			moved.RefChosen += 3
			if c.ReferenceFree() && c.PairLoss(moved).Loss != r.Loss {
				t.Errorf("%s: reference-free loss depends on the reference", c.LossType)
			}
		}
	}
}

func TestPairLossConfigValidate(t *testing.T) {
	bad := []PairLossConfig{
		{LossType: "kto", Beta: 0.1},
		{LossType: LossSigmoid, Beta: 0},
		{LossType: LossRobust, Beta: 0.1, LabelSmoothing: 0.5},
		{LossType: LossIPO, Beta: 0.1, LabelSmoothing: 0.1},
		{LossType: LossSigmoid, Beta: math.NaN()},
		{LossType: LossSigmoid, Beta: 0.1, LabelSmoothing: math.NaN()},
	}
	for _, c := range bad {
		if c.Validate() == nil {
			t.Errorf("%+v validated", c)
		}
	}
}

// TestTrainingArgsValidate: NaN and out-of-range optimizer settings are
// refused up front (a NaN warmup ratio gave a 100x learning rate; a NaN
// max_grad_norm switched clipping off).
func TestTrainingArgsValidate(t *testing.T) {
	nan := math.NaN()
	for name, edit := range map[string]func(*TrainingArgs){
		"warmup NaN":     func(a *TrainingArgs) { a.WarmupRatio = nan },
		"clip NaN":       func(a *TrainingArgs) { a.MaxGradNorm = float32(nan) },
		"decay NaN":      func(a *TrainingArgs) { a.WeightDecay = float32(nan) },
		"decay negative": func(a *TrainingArgs) { a.WeightDecay = -0.1 },
		"beta1 1":        func(a *TrainingArgs) { a.AdamBeta1 = 1 },
		"beta2 NaN":      func(a *TrainingArgs) { a.AdamBeta2 = float32(nan) },
		"epsilon 0":      func(a *TrainingArgs) { a.AdamEpsilon = 0 },
	} {
		a := DefaultTrainingArgs()
		edit(&a)
		if a.Validate() == nil {
			t.Errorf("%s: validated", name)
		}
	}
	if err := DefaultTrainingArgs().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
