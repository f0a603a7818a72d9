package sae

import (
	"fmt"
	"math"

	"github.com/alignlab/alignlab/model"
)

// CEResult is the model's next-token cross-entropy with the activation at
// the SAE's hook left alone (Clean), replaced by the SAE's reconstruction
// (SAE) and replaced by zeros (Zero), each the mean over the predicted
// tokens of all sequences.
type CEResult struct {
	Clean float64 `json:"ce_clean"`
	SAE   float64 `json:"ce_sae"`
	Zero  float64 `json:"ce_zero_ablated"`
	// Recovered is (Zero - SAE) / (Zero - Clean): 1 when splicing in the
	// SAE costs nothing, 0 when it is as bad as deleting the activation.
	Recovered float64 `json:"ce_loss_recovered"`
	// Tokens is the number of predicted tokens.
	Tokens int `json:"tokens"`
}

// CELossRecovered runs m over each sequence three times (clean, with the
// activation at hook replaced in place by s's reconstruction, and with it
// zeroed) and returns the cross-entropies and the fraction recovered.
// masks, when not nil, says which tokens of each sequence are predicted
// (e.g. only a chat model's replies, which is all it was trained on); nil
// predicts every token after the first.
func CELossRecovered(m *model.Model, hook string, s *SAE, seqs [][]int32, masks [][]bool) (CEResult, error) {
	var res CEResult
	var err error
	splice := func(mode int) *model.Hooks {
		if mode == 0 {
			return nil
		}
		h := model.NewHooks()
		h.Add(hook, func(name string, act []float32, shape []int) {
			w := HookWidth(shape)
			if w != s.DIn {
				err = fmt.Errorf("hook %s has width %d, the SAE's d_in is %d", name, w, s.DIn)
				return
			}
			rows := len(act) / w
			if mode == 1 {
				copy(act, s.Reconstruct(act[:rows*w], rows))
			} else {
				clear(act)
			}
		})
		return h
	}
	var sums [3]float64
	for i, seq := range seqs {
		seq = truncate(seq, m.Config.MaxSeqLen)
		if len(seq) < 2 {
			continue
		}
		T := len(seq) - 1
		var w []float32
		n := T
		if masks != nil && masks[i] != nil {
			w = make([]float32, T)
			n = 0
			for p := 0; p < T; p++ {
				if masks[i][p+1] {
					w[p] = 1
					n++
				}
			}
			if n == 0 {
				continue
			}
		}
		for mode := 0; mode < 3; mode++ {
			l, lerr := m.LossWithHooks(seq[:T], seq[1:], w, 1, T, splice(mode))
			if lerr != nil {
				return res, fmt.Errorf("ce loss recovered: sequence %d: %w", i, lerr)
			}
			if err != nil {
				return res, fmt.Errorf("ce loss recovered: %w", err)
			}
			sums[mode] += float64(l) * float64(n)
		}
		res.Tokens += n
	}
	if res.Tokens == 0 {
		return res, fmt.Errorf("ce loss recovered: no token to predict (sequences need two tokens, masks a predicted one)")
	}
	n := float64(res.Tokens)
	res.Clean, res.SAE, res.Zero = sums[0]/n, sums[1]/n, sums[2]/n
	d := res.Zero - res.Clean
	if d == 0 || math.IsNaN(d) {
		return res, fmt.Errorf("ce loss recovered: zero-ablating %s leaves the loss at %.4f, so the fraction recovered is undefined", hook, res.Clean)
	}
	res.Recovered = (res.Zero - res.SAE) / d
	return res, nil
}
