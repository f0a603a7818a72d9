// The loop RLOO and GRPO share: each step samples k completions for each of
// batch/k prompts, turns the group's scores into one advantage per
// completion (the method's part), broadcasts it over the completion's
// tokens, and takes clipped policy-gradient steps. No value model.

package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/alignlab/alignlab/model"
)

// lossNorm says how per-token losses are averaged over a minibatch.
type lossNorm int

const (
	// normTokens: mean over all completion tokens of the minibatch
	// (TRL's masked_mean; GRPO's "bnpo").
	normTokens lossNorm = iota
	// normSequences: mean over sequences of each one's token mean
	// (GRPO's original "grpo").
	normSequences
	// normFixed: token sum over (sequences × max completion length)
	// (GRPO's "dr_grpo", Dr. GRPO).
	normFixed
)

// groupRun is the state of an RLOO or GRPO run.
type groupRun struct {
	policy, ref *model.Model
	scorer      Scorer
	args        TrainingArgs
	rollout     RolloutConfig
	k, batch    int // completions per prompt, completions per step
	micro       int // sequences per forward/backward pass
	miniBatches int
	epochs      int
	totalSteps  int
	loss        pgLoss
	norm        lossNorm
	seed        int64

	opt     *AdamW
	prompts *promptStream
	step    int
	episode int
}

// groupOptions are the options both methods take, checked once.
type groupOptions struct {
	k, batch, micro, miniBatches, epochs, totalEpisodes int
	lr, weightDecay, maxGradNorm                        float32
	schedule                                            string
	seed                                                int64
}

func newGroupRun(policy, ref *model.Model, scorer Scorer, prompts [][]int32, a TrainingArgs, rc RolloutConfig, o groupOptions) (*groupRun, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := rc.validate(); err != nil {
		return nil, err
	}
	switch {
	case policy == nil || scorer == nil:
		return nil, errors.New("needs a policy and a scorer")
	case ref == policy:
		return nil, errors.New("the reference must be a separate copy of the policy (see CloneModel)")
	case ref != nil && ref.Config != policy.Config:
		return nil, errors.New("the reference's config differs from the policy's")
	case len(prompts) == 0:
		return nil, errors.New("no prompts")
	case o.k < 2:
		return nil, fmt.Errorf("the group size (completions per prompt) must be at least 2, got %d", o.k)
	case o.batch < o.k || o.batch%o.k != 0:
		return nil, fmt.Errorf("the batch of %d completions is not a multiple of the group size %d", o.batch, o.k)
	case o.miniBatches < 1 || o.batch%o.miniBatches != 0:
		return nil, fmt.Errorf("the batch of %d completions does not split into %d minibatches", o.batch, o.miniBatches)
	case o.epochs < 1:
		return nil, fmt.Errorf("the number of epochs (iterations) per batch must be at least 1, got %d", o.epochs)
	case o.totalEpisodes < 0:
		return nil, fmt.Errorf("total_episodes must be >= 0, got %d", o.totalEpisodes)
	case !(a.LearningRate > 0):
		return nil, fmt.Errorf("learning_rate must be positive, got %g", a.LearningRate)
	}
	// Each prompt yields k completions, so a pass over the prompts is
	// k·len(prompts) episodes.
	return &groupRun{
		policy: policy, ref: ref, scorer: scorer, args: a, rollout: rc,
		k: o.k, batch: o.batch, micro: a.PerDeviceTrainBatchSize, miniBatches: o.miniBatches, epochs: o.epochs,
		totalSteps: onPolicySteps(a, o.totalEpisodes, o.k*len(prompts), o.batch), seed: a.Seed,
		opt:     a.adamW(len(policy.Params.Data), NoDecaySpans(policy.Params)),
		prompts: newPromptStream(prompts, a.Seed),
	}, nil
}

// sample draws the step's rollout: batch/k prompts, k completions each,
// group g in rows g·k .. g·k+k-1.
func (g *groupRun) sample() (*Rollout, error) {
	prompts := repeatEach(g.prompts.take(g.batch/g.k), g.k)
	return sampleRollout(g.policy, g.ref, g.scorer, prompts, g.rollout, rolloutSeed(g.seed, g.episode))
}

// update broadcasts the per-sequence advantages over their tokens and
// runs the epochs of minibatch steps, filling the update's metrics.
func (g *groupRun) update(r *Rollout, seqAdv []float64, m Metrics) error {
	adv := make([]float32, r.B*r.T)
	for b := range r.B {
		for j := range r.Len(b) {
			adv[r.Tok(b, j)] = float32(seqAdv[b])
		}
	}
	lr := g.args.LRAt(g.step, g.totalSteps)
	st := &pgStats{}
	mb := g.batch / g.miniBatches
	weight := make([]float32, r.B*r.T)
	var norm float32
	for e := range g.epochs {
		perm := minibatchOrder(g.seed, g.step, e, g.batch)
		for k := range g.miniBatches {
			idx := perm[k*mb : (k+1)*mb]
			g.policy.ZeroGrad()
			clear(weight)
			g.lossWeights(r, idx, weight)
			if err := policyBackward(g.policy, r, idx, g.micro, adv, weight, g.loss, st); err != nil {
				return err
			}
			norm = applyStep(lr, g.args.MaxGradNorm, stepPart{g.policy.Params.Data, g.policy.Grads.Data, g.opt})
			if bad := nonFinite(norm); bad != "" {
				return fmt.Errorf("gradient norm is %s; lower the learning rate or check the reward", bad)
			}
			st.updates++
		}
	}
	updateMetrics(m, st)
	m["loss/policy"] = st.loss / st.updates
	if g.loss.beta > 0 {
		m["kl"] = st.mean(st.kl)
	}
	m["grad_norm"] = float64(norm)
	m["lr"] = float64(lr)
	g.step++
	g.episode += g.batch
	m["episode"] = float64(g.episode)
	return nil
}

// lossWeights sets the per-token weights of minibatch idx for g.norm.
func (g *groupRun) lossWeights(r *Rollout, idx []int, w []float32) {
	switch g.norm {
	case normSequences:
		for _, b := range idx {
			for j := range r.Len(b) {
				w[r.Tok(b, j)] = 1 / float32(len(idx)*r.Len(b))
			}
		}
	case normFixed:
		for _, b := range idx {
			for j := range r.Len(b) {
				w[r.Tok(b, j)] = 1 / float32(len(idx)*g.rollout.ResponseLength)
			}
		}
	default:
		tokenMeanWeights(r, idx, w)
	}
}

// groupStats returns the mean and unbiased standard deviation of x over
// each group of k consecutive values.
func groupStats(x []float64, k int) (mean, std []float64) {
	n := len(x) / k
	mean, std = make([]float64, n), make([]float64, n)
	for g := range n {
		grp := x[g*k : (g+1)*k]
		var s float64
		for _, v := range grp {
			s += v
		}
		mu := s / float64(k)
		var ss float64
		for _, v := range grp {
			ss += (v - mu) * (v - mu)
		}
		mean[g], std[g] = mu, math.Sqrt(ss/float64(k-1))
	}
	return mean, std
}
