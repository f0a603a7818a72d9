// PPO's pieces as plain functions over numbers, so each can be checked by
// hand: generalised advantage estimation, whitening, and the clipped policy
// and value objectives per token (TRL's PPOTrainer formulas).

package train

import "math"

// GAE returns the advantages and returns of one sequence's tokens from
// their rewards and value estimates (Schulman et al. 2016): δ_t = r_t +
// γ·V_{t+1} − V_t with V after the last token 0, A_t = δ_t + γλ·A_{t+1},
// return_t = A_t + V_t.
func GAE(rewards, values []float64, gamma, lam float64) (adv, ret []float64) {
	n := len(rewards)
	adv, ret = make([]float64, n), make([]float64, n)
	last := 0.0
	for t := n - 1; t >= 0; t-- {
		next := 0.0
		if t+1 < n {
			next = values[t+1]
		}
		delta := rewards[t] + gamma*next - values[t]
		last = delta + gamma*lam*last
		adv[t] = last
		ret[t] = last + values[t]
	}
	return adv, ret
}

// Whiten standardises x in place to zero mean and unit variance, as TRL's
// masked_whiten: the variance is the unbiased one (n−1), 1e-8 is added
// under the square root, and with shiftMean false the mean is added back
// (only the scale changes, as for whitened rewards). Fewer than two values
// are left as they are.
func Whiten(x []float64, shiftMean bool) {
	n := float64(len(x))
	if n < 2 {
		return
	}
	var mu float64
	for _, v := range x {
		mu += v
	}
	mu /= n
	var ss float64
	for _, v := range x {
		ss += (v - mu) * (v - mu)
	}
	inv := 1 / math.Sqrt(ss/(n-1)+1e-8)
	for i, v := range x {
		x[i] = (v - mu) * inv
		if !shiftMean {
			x[i] += mu
		}
	}
}

// ClippedPolicyLoss is PPO's clipped surrogate for one token: with ratio
// r = exp(newLogp − oldLogp), loss = max(−A·r, −A·clip(r, 1−ε, 1+ε)).
// grad is ∂loss/∂newLogp; clipped reports that the clipped term was the
// larger (TRL's policy/clipfrac counts these), where the gradient is 0.
func ClippedPolicyLoss(newLogp, oldLogp, adv, cliprange float64) (loss, grad float64, clipped bool) {
	r := math.Exp(newLogp - oldLogp)
	l1 := -adv * r
	l2 := -adv * min(max(r, 1-cliprange), 1+cliprange)
	if l2 > l1 {
		return l2, 0, true
	}
	return l1, -adv * r, false
}

// ClippedValueLoss is PPO's clipped value objective for one token:
// vclip = old + clip(v − old, −ε, ε), loss = ½·max((v − R)², (vclip − R)²).
// grad is ∂loss/∂v; clipped reports that the clipped term was the larger
// (TRL's val/clipfrac), where the gradient is 0.
func ClippedValueLoss(v, old, ret, cliprange float64) (loss, grad float64, clipped bool) {
	vc := old + min(max(v-old, -cliprange), cliprange)
	l1 := (v - ret) * (v - ret)
	l2 := (vc - ret) * (vc - ret)
	if l2 > l1 { // only when v was clipped, so vclip does not move with v
		return 0.5 * l2, 0, true
	}
	return 0.5 * l1, v - ret, false
}
