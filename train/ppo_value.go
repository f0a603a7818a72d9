// PPO's value model: a separate transformer with a scalar head (a
// ScalarModel), read at the position before each completion token, as
// TRL's PPOTrainer does with its value model.
//
// Why separate rather than a head on the policy: the value loss then never
// moves the policy's weights (a shared trunk needs vf_coef to balance two
// objectives pulling on the same features), it can start from the reward
// model's weights, which already encode what the reward depends on (TRL's
// and Ziegler et al.'s choice), and it keeps the policy a plain language
// model. The price is memory: another model with its gradients and AdamW
// state, which the dpo-vs-ppo benchmark counts.

package train

// valueRow is the row of the batch whose hidden state predicts completion
// token j of rollout row b, in a batch where that row sits at position i.
func valueRow(r *Rollout, i, b, j int) int { return i*r.T + r.Start[b] + j - 1 }

// rolloutValues returns the value model's estimate at every completion
// token of r ([B·T], indexed like the log-probs), in forward passes of at
// most chunk rows (0 = all).
func rolloutValues(v *ScalarModel, r *Rollout, chunk int) ([]float32, error) {
	if chunk <= 0 {
		chunk = r.B
	}
	out := make([]float32, r.B*r.T)
	for lo := 0; lo < r.B; lo += chunk {
		idx := make([]int, 0, chunk)
		for b := lo; b < min(lo+chunk, r.B); b++ {
			idx = append(idx, b)
		}
		rows, pos := valueRowsOf(r, idx)
		vals, err := v.forwardRows(r.Tokens[lo*r.T:(lo+len(idx))*r.T], len(idx), r.T, rows)
		v.hidden = nil
		if err != nil {
			return nil, err
		}
		for k, g := range pos {
			out[g] = vals[k]
		}
	}
	return out, nil
}

// valueRowsOf lists, for rows idx of r laid out as a batch in that order,
// the hidden-state row of every completion token and the token's index in
// the rollout's [B·T] arrays.
func valueRowsOf(r *Rollout, idx []int) (rows, pos []int) {
	for i, b := range idx {
		for j := range r.Len(b) {
			rows = append(rows, valueRow(r, i, b, j))
			pos = append(pos, r.Tok(b, j))
		}
	}
	return rows, pos
}

// valueBackward runs the value model over rows idx in micro-batches and
// adds the gradient of vfCoef·Σ_i weight[i]·ClippedValueLoss_i to its
// gradients, accumulating the loss and clip counts in st.
func valueBackward(v *ScalarModel, r *Rollout, idx []int, micro int, oldValues []float32, returns []float64, weight []float32, cliprange, vfCoef float64, st *pgStats) error {
	for lo := 0; lo < len(idx); lo += micro {
		part := idx[lo:min(lo+micro, len(idx))]
		rows, pos := valueRowsOf(r, part)
		vpred, err := v.forwardRows(gather(r.Tokens, part, r.T), len(part), r.T, rows)
		if err != nil {
			return err
		}
		dOut := make([]float32, len(rows))
		for k, g := range pos {
			loss, grad, clipped := ClippedValueLoss(float64(vpred[k]), float64(oldValues[g]), returns[g], cliprange)
			w := float64(weight[g])
			dOut[k] = float32(vfCoef * w * grad)
			st.valueLoss += w * loss
			st.valueTokens++
			if clipped {
				st.valueClipped++
			}
		}
		if err := v.backwardRows(dOut); err != nil {
			return err
		}
	}
	return nil
}
