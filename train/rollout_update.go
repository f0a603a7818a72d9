// The policy update shared by PPO, RLOO and GRPO: the clipped surrogate
// (plus, for GRPO, a KL term to the reference) summed over a rollout's
// tokens with per-token advantages and weights, differentiated through the
// engine's per-token log-prob backward.

package train

import (
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/model"
)

// Metrics are one step's figures under TRL's names ("objective/kl",
// "loss/policy", ...).
type Metrics map[string]float64

// pgLoss is the per-token policy objective: ClippedPolicyLoss, plus
// beta·KL to the reference by the given estimator when beta > 0.
type pgLoss struct {
	cliprange float64
	beta      float64
	kl        KLEstimator
}

// pgStats accumulates token-weighted sums of the update's figures.
type pgStats struct {
	loss, clipped, approxKL, entropy, ratio, kl, tokens float64
	// updates counts optimiser steps: loss sums one mean per step.
	updates float64
	// valueLoss, valueClipped are PPO's; valueTokens counts their tokens.
	valueLoss, valueClipped, valueTokens float64
}

func (s *pgStats) mean(x float64) float64 {
	if s.tokens == 0 {
		return 0
	}
	return x / s.tokens
}

// policyBackward runs the policy over rows idx of r in micro-batches of at
// most micro rows and adds to policy.Grads the gradient of Σ_i weight[i]·
// (surrogate_i + β·KL_i) over their completion tokens i, where adv and
// weight are [B·T] over the whole rollout. It accumulates statistics in
// st (st.loss is the weighted objective itself).
func policyBackward(policy *model.Model, r *Rollout, idx []int, micro int, adv, weight []float32, l pgLoss, st *pgStats) error {
	T := r.T
	for lo := 0; lo < len(idx); lo += micro {
		rows := idx[lo:min(lo+micro, len(idx))]
		n := len(rows)
		tokens, mask := gather(r.Tokens, rows, T), gather(r.Mask, rows, T)
		ent := make([]float32, n*T)
		newLp, err := policy.TokenLogProbs(tokens, mask, n, T, ent)
		if err != nil {
			return err
		}
		coef := make([]float32, n*T)
		for i, b := range rows {
			for j := range r.Len(b) {
				g := r.Tok(b, j)
				k := i*T + r.Start[b] + j
				lp, old := float64(newLp[k]), float64(r.LogProbs[g])
				loss, grad, clipped := ClippedPolicyLoss(lp, old, float64(adv[g]), l.cliprange)
				if l.beta > 0 {
					ref := float64(r.RefLogProbs[g])
					kl := l.kl.Estimate(lp, ref)
					loss += l.beta * kl
					grad += l.beta * l.kl.Derivative(lp, ref)
					st.kl += kl
				}
				w := float64(weight[g])
				coef[k] = float32(w * grad)
				st.loss += w * loss
				d := lp - old
				st.approxKL += 0.5 * d * d
				st.ratio += math.Exp(d)
				st.entropy += float64(ent[k])
				st.tokens++
				if clipped {
					st.clipped++
				}
			}
		}
		if err := policy.BackwardTokenLogProbs(coef); err != nil {
			return err
		}
	}
	return nil
}

// tokenMeanWeights returns weights that make a weighted sum over the
// completion tokens of rows idx their mean (TRL's masked_mean).
func tokenMeanWeights(r *Rollout, idx []int, w []float32) {
	n := 0
	for _, b := range idx {
		n += r.Len(b)
	}
	for _, b := range idx {
		for j := range r.Len(b) {
			w[r.Tok(b, j)] = 1 / float32(max(n, 1))
		}
	}
}

// applyStep clips the joint gradient norm of the given (params, grads,
// optimizer) triples and steps each optimizer; it returns the pre-clip
// norm, or a non-finite norm without stepping.
func applyStep(lr, maxNorm float32, parts ...stepPart) float32 {
	grads := make([][]float32, len(parts))
	for i, p := range parts {
		grads[i] = p.grads
	}
	norm := jointNorm(grads...)
	if nonFinite(norm) != "" {
		return norm
	}
	scale := clipScale(norm, maxNorm)
	for _, p := range parts {
		p.opt.StepScaled(p.params, p.grads, lr, scale)
	}
	return norm
}

// stepPart is one parameter buffer with its gradient and optimizer.
type stepPart struct {
	params, grads []float32
	opt           *AdamW
}

// onPolicySteps is the number of rollout batches of an on-policy run, as
// TRL counts them: MaxSteps when set, else total_episodes (by default
// num_train_epochs passes over the prompts) over the batch, rounded up.
func onPolicySteps(a TrainingArgs, totalEpisodes, prompts, batch int) int {
	if a.MaxSteps > 0 {
		return a.MaxSteps
	}
	if totalEpisodes <= 0 {
		totalEpisodes = a.NumTrainEpochs * prompts
	}
	return (totalEpisodes + batch - 1) / batch
}

// rolloutMetrics fills the metrics every method reports about its samples:
// scores, sequence KL to the reference (k1, summed over tokens),
// the sampled-token entropy estimate and completion lengths.
func rolloutMetrics(m Metrics, r *Rollout) {
	var score, kl, negLp, length, eos float64
	for b := range r.B {
		score += r.Scores[b]
		for j := range r.Len(b) {
			g := r.Tok(b, j)
			if r.RefLogProbs != nil {
				kl += float64(r.LogProbs[g] - r.RefLogProbs[g])
			}
			negLp -= float64(r.LogProbs[g])
		}
		length += float64(r.Len(b))
		if r.Stopped[b] {
			eos++
		}
	}
	n := float64(r.B)
	m["objective/scores"] = score / n
	m["objective/entropy"] = negLp / n
	m["completions/mean_length"] = length / n
	m["val/num_eos_tokens"] = eos
	if r.RefLogProbs != nil {
		m["objective/kl"] = kl / n
	}
}

// updateMetrics adds the policy update's averages.
func updateMetrics(m Metrics, st *pgStats) {
	m["policy/approxkl"] = st.mean(st.approxKL)
	m["policy/clipfrac"] = st.mean(st.clipped)
	m["policy/entropy"] = st.mean(st.entropy)
	m["val/ratio"] = st.mean(st.ratio)
}

// minibatchOrder is the order in which epoch e of step s visits the batch's
// n samples, drawn from (seed, s, e) alone so that a resumed run draws the
// same.
func minibatchOrder(seed int64, step, epoch, n int) []int {
	return rand.New(rand.NewPCG(uint64(seed)^0x990, uint64(step)<<16|uint64(epoch))).Perm(n)
}
