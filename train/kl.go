// KL to the reference policy: the per-token estimators RLHF penalises and
// the controllers that set the penalty's weight.

package train

import (
	"fmt"
	"math"
)

// KLEstimator names a per-token estimate of KL(π‖π_ref) from the log-probs
// of a token sampled from π (Schulman, "Approximating KL divergence").
type KLEstimator string

const (
	// KLk1 is log π − log π_ref: unbiased, high variance, can be negative
	// (TRL's kl_estimator "k1", its default).
	KLk1 KLEstimator = "k1"
	// KLk3 is (r − 1) − log r with r = π_ref/π: unbiased, never negative,
	// lower variance (TRL's "k3", GRPO's per-token KL).
	KLk3 KLEstimator = "k3"
)

// Estimate returns the estimator's value for one token with log-probs
// logp under the policy and ref under the reference.
func (e KLEstimator) Estimate(logp, ref float64) float64 {
	if e == KLk3 {
		d := ref - logp
		return math.Exp(d) - 1 - d
	}
	return logp - ref
}

// Derivative returns ∂Estimate/∂logp (the reference is constant).
func (e KLEstimator) Derivative(logp, ref float64) float64 {
	if e == KLk3 {
		return 1 - math.Exp(ref-logp)
	}
	return 1
}

// ParseKLEstimator checks a kl_estimator option.
func ParseKLEstimator(s string) (KLEstimator, error) {
	switch KLEstimator(s) {
	case KLk1, KLk3:
		return KLEstimator(s), nil
	case "":
		return KLk1, nil
	}
	return "", fmt.Errorf("kl_estimator %q is not k1 or k3", s)
}

// KLController sets the KL penalty's coefficient from step to step.
type KLController interface {
	// Value is the coefficient to use now.
	Value() float64
	// Update takes the mean per-sequence KL measured on the last batch
	// and the number of samples (episodes) it covered.
	Update(currentKL float64, nSteps int)
}

// FixedKLController keeps the coefficient constant (TRL's kl_coef).
type FixedKLController struct{ Coef float64 }

// Value returns the constant coefficient.
func (c *FixedKLController) Value() float64 { return c.Coef }

// Update does nothing.
func (c *FixedKLController) Update(float64, int) {}

// AdaptiveKLController moves the coefficient so the measured KL tracks
// Target, as in Ziegler et al. (2019) and TRL's AdaptiveKLController:
// e = clip(KL/Target − 1, −0.2, 0.2), coef ← coef·(1 + e·n/Horizon).
type AdaptiveKLController struct {
	Coef    float64 // current value (init_kl_coef to start)
	Target  float64 // target KL per sequence
	Horizon float64 // samples over which to close the gap
}

// Value returns the current coefficient.
func (c *AdaptiveKLController) Value() float64 { return c.Coef }

// Update applies one proportional step.
func (c *AdaptiveKLController) Update(currentKL float64, nSteps int) {
	e := min(max(currentKL/c.Target-1, -0.2), 0.2)
	c.Coef *= 1 + e*float64(nSteps)/c.Horizon
}
