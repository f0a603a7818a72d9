// The DPO family's per-pair losses as plain functions of sequence
// log-probabilities, written after TRL's DPOTrainer.dpo_loss (sigmoid, ipo,
// hinge, robust), CPOTrainer's simpo and ORPOTrainer.odds_ratio_loss, with
// each loss's derivative with respect to the policy's summed log-probs, which
// is the coefficient the engine's log-prob backward needs.

package train

import (
	"fmt"
	"math"
)

// Loss types of the DPO family (TRL's loss_type values).
const (
	LossSigmoid = "sigmoid" // DPO (Rafailov et al.); with label_smoothing, conservative DPO (cDPO)
	LossIPO     = "ipo"     // IPO (Azar et al.), on length-averaged log-probs
	LossHinge   = "hinge"   // SLiC / RSO hinge
	LossRobust  = "robust"  // robust DPO (Chowdhury et al.), unbiased under label noise
	LossSimPO   = "simpo"   // SimPO (Meng et al.): reference-free, length-averaged, margin gamma
	LossORPO    = "orpo"    // ORPO (Hong et al.): odds-ratio term, reference-free, with the NLL term
)

// LossTypes lists the supported loss types.
var LossTypes = []string{LossSigmoid, LossIPO, LossHinge, LossRobust, LossSimPO, LossORPO}

// PairLossConfig holds the options that shape the per-pair loss.
type PairLossConfig struct {
	LossType string `json:"loss_type"`
	// Beta is DPO's β (the KL strength; IPO's τ; SimPO's β; ORPO's λ).
	Beta float64 `json:"beta"`
	// LabelSmoothing is the assumed label-flip probability ε of sigmoid
	// (cDPO) and robust; simpo uses it as CPO does.
	LabelSmoothing float64 `json:"label_smoothing"`
	// SimPOGamma is SimPO's target reward margin γ (TRL's simpo_gamma).
	SimPOGamma float64 `json:"simpo_gamma"`
}

// Validate reports an unusable combination.
func (c PairLossConfig) Validate() error {
	known := false
	for _, t := range LossTypes {
		known = known || t == c.LossType
	}
	switch {
	case !known:
		return fmt.Errorf("loss_type %q is not one of %v", c.LossType, LossTypes)
	case !(c.Beta > 0) || math.IsInf(c.Beta, 0):
		return fmt.Errorf("beta must be a positive number, got %g", c.Beta)
	case !(c.LabelSmoothing >= 0 && c.LabelSmoothing <= 0.5): // NaN too
		return fmt.Errorf("label_smoothing must be in [0, 0.5], got %g", c.LabelSmoothing)
	case c.LossType == LossRobust && c.LabelSmoothing >= 0.5:
		return fmt.Errorf("the robust loss divides by 1 − 2·label_smoothing, so label_smoothing must be below 0.5, got %g", c.LabelSmoothing)
	case c.LabelSmoothing > 0 && (c.LossType == LossIPO || c.LossType == LossHinge || c.LossType == LossORPO):
		return fmt.Errorf("label_smoothing has no effect with loss_type %s (TRL ignores it); use sigmoid, robust or simpo", c.LossType)
	}
	return nil
}

// ReferenceFree reports whether the loss needs no reference log-probs.
func (c PairLossConfig) ReferenceFree() bool {
	return c.LossType == LossSimPO || c.LossType == LossORPO
}

// averaged reports whether the loss uses length-averaged log-probs.
func (c PairLossConfig) averaged() bool {
	return c.LossType == LossIPO || c.LossType == LossSimPO || c.LossType == LossORPO
}

// PairLogps is one preference pair's sequence log-probabilities: sums over
// the completion tokens (prompt excluded), with the token counts.
type PairLogps struct {
	Chosen, Rejected       float64 // the policy's
	RefChosen, RefRejected float64 // the reference's (unused by simpo and orpo)
	ChosenLen, RejectedLen int
}

// PairResult is one pair's loss, its gradient and the figures TRL logs.
type PairResult struct {
	Loss float64
	// DChosen and DRejected are ∂Loss/∂Chosen and ∂Loss/∂Rejected, with
	// respect to the summed log-probs.
	DChosen, DRejected float64
	// RewardChosen and RewardRejected are the implicit rewards
	// (rewards/chosen, rewards/rejected).
	RewardChosen, RewardRejected float64
	// LogpChosen and LogpRejected are the policy log-probs the loss used
	// (logps/chosen, logps/rejected): sums, or averages for ipo, simpo
	// and orpo.
	LogpChosen, LogpRejected float64
	// LogOdds and LogSigmoidOdds are ORPO's log_odds_chosen and
	// log_odds_ratio figures.
	LogOdds, LogSigmoidOdds float64
}

// PairLoss computes one pair's loss, without the NLL term (rpo_alpha, or
// ORPO's SFT term), which the trainer adds over tokens:
//
//	sigmoid: −(1−ε)·log σ(βx) − ε·log σ(−βx),     x = (πc − πr) − (refc − refr)
//	robust:  (−(1−ε)·log σ(βx) + ε·log σ(−βx)) / (1 − 2ε)
//	hinge:   max(0, 1 − βx)
//	ipo:     (x − 1/(2β))², x on length-averaged log-probs (policy and reference)
//	simpo:   −(1−ε)·log σ(β(ac − ar) − γ) − ε·log σ(−β(ac − ar) + γ), a = averaged policy log-probs
//	orpo:    −β·log σ(log odds), log odds = (ac − ar) − (log(1 − e^ac) − log(1 − e^ar))
//
// Rewards are β·(π − ref) (for ipo on averages), and β·a for simpo and orpo.
func (c PairLossConfig) PairLoss(p PairLogps) PairResult {
	b, eps := c.Beta, c.LabelSmoothing
	pc, pr, rc, rr := p.Chosen, p.Rejected, p.RefChosen, p.RefRejected
	// sc, sr turn a derivative with respect to the value the loss uses
	// (sum or average) into one with respect to the sum.
	sc, sr := 1.0, 1.0
	if c.averaged() {
		sc, sr = 1/float64(max(p.ChosenLen, 1)), 1/float64(max(p.RejectedLen, 1))
		pc, pr, rc, rr = pc*sc, pr*sr, rc*sc, rr*sr
	}
	var res PairResult
	res.LogpChosen, res.LogpRejected = pc, pr
	var dx float64 // ∂Loss/∂x, where x = pc − pr (minus the reference's, or γ/β)
	switch c.LossType {
	case LossSigmoid, LossRobust, LossSimPO:
		x := (pc - pr) - (rc - rr)
		if c.LossType == LossSimPO {
			x = (pc - pr) - c.SimPOGamma/b
		}
		z := b * x
		// −log σ(z) = softplus(−z); d/dz = −σ(−z).
		pos, neg := softplus(-z), softplus(z) // −log σ(z), −log σ(−z)
		if c.LossType == LossRobust {
			res.Loss = ((1-eps)*pos - eps*neg) / (1 - 2*eps)
			dx = b * (-(1-eps)*sigmoid(-z) - eps*sigmoid(z)) / (1 - 2*eps)
		} else {
			res.Loss = (1-eps)*pos + eps*neg
			dx = b * (-(1-eps)*sigmoid(-z) + eps*sigmoid(z))
		}
	case LossHinge:
		x := (pc - pr) - (rc - rr)
		if m := 1 - b*x; m > 0 {
			res.Loss, dx = m, -b
		}
	case LossIPO:
		x := (pc - pr) - (rc - rr)
		d := x - 1/(2*b)
		res.Loss, dx = d*d, 2*d
	case LossORPO:
		// log(1 − e^a) = log(−expm1(a)), accurate for a near 0. An
		// average log-prob of exactly 0 (probability rounded to 1) would
		// make it −Inf, so it is held just below.
		pc, pr = math.Min(pc, -1e-9), math.Min(pr, -1e-9)
		lo := (pc - pr) - (math.Log(-math.Expm1(pc)) - math.Log(-math.Expm1(pr)))
		res.LogOdds, res.LogSigmoidOdds = lo, -softplus(-lo)
		res.Loss = b * softplus(-lo)
		dlo := -b * sigmoid(-lo)
		// ∂lo/∂ac = 1 + e^ac/(1 − e^ac) = 1/(1 − e^ac); ∂lo/∂ar = −1/(1 − e^ar).
		res.DChosen = dlo / -math.Expm1(pc) * sc
		res.DRejected = -dlo / -math.Expm1(pr) * sr
		res.RewardChosen, res.RewardRejected = b*pc, b*pr
		return res
	}
	res.DChosen, res.DRejected = dx*sc, -dx*sr
	if c.LossType == LossSimPO {
		res.RewardChosen, res.RewardRejected = b*pc, b*pr
	} else {
		res.RewardChosen, res.RewardRejected = b*(pc-rc), b*(pr-rr)
	}
	return res
}
