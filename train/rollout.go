// Rollouts shared by PPO, RLOO and GRPO: sample completions of prompts with
// the policy (batched KV-cache generation), score them, and lay them out as
// one right-padded batch with the per-token log-probs of the policy that
// sampled them and of the frozen reference.

package train

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/alignlab/alignlab/model"
)

// RewardFunc scores one completion of a prompt, e.g. the lab's exact gold
// reward. The completion is as sampled: it ends with the stop token when
// the policy produced one.
type RewardFunc func(prompt, completion []int32) float64

// Scorer scores completions of prompts (higher is better). A reward model
// (*ScalarModel) is one; FuncScorer makes one of any RewardFunc.
type Scorer interface {
	Score(prompts, completions [][]int32) ([]float64, error)
}

// FuncScorer adapts a RewardFunc to Scorer.
type FuncScorer RewardFunc

// Score calls the function on each prompt and completion.
func (f FuncScorer) Score(prompts, completions [][]int32) ([]float64, error) {
	out := make([]float64, len(prompts))
	for i := range prompts {
		out[i] = f(prompts[i], completions[i])
	}
	return out, nil
}

// RolloutConfig says how completions are sampled and scored, under TRL's
// OnPolicyConfig names. Sampling is at temperature 1 with no top-k or
// top-p, so the distribution sampled from is the policy being trained and
// the sampling-time log-probs are the "old" ones PPO's ratio needs (TRL's
// default temperature 0.7 would need tempered log-probs throughout).
type RolloutConfig struct {
	// ResponseLength is the most tokens sampled per completion.
	ResponseLength int `json:"response_length"`
	// StopTokenIDs end a completion (included in it, as TRL keeps EOS).
	StopTokenIDs []int32 `json:"stop_token_ids,omitempty"`
	// MissingEOSPenalty is subtracted from the score of a completion that
	// ran to ResponseLength without a stop token (only with StopTokenIDs).
	MissingEOSPenalty float64 `json:"missing_eos_penalty,omitempty"`
	// LocalRolloutForwardBatchSize bounds the sequences per forward pass
	// when scoring a rollout (reference log-probs, values).
	LocalRolloutForwardBatchSize int `json:"local_rollout_forward_batch_size"`
}

func (c RolloutConfig) validate() error {
	switch {
	case c.ResponseLength < 1:
		return fmt.Errorf("response_length must be at least 1, got %d", c.ResponseLength)
	case c.MissingEOSPenalty < 0:
		return fmt.Errorf("missing_eos_penalty must be >= 0, got %g", c.MissingEOSPenalty)
	}
	return nil
}

// Rollout is a batch of sampled completions laid out for the losses: row b
// of the [B·T] batch is Prompts[b] then Completions[b], right-padded with
// token 0. Per-token arrays are [B·T] and indexed by the position of the
// token they describe (the completion's tokens sit at Start[b] ..
// Start[b]+len(Completions[b])-1); Mask is 1 exactly there.
type Rollout struct {
	Prompts, Completions [][]int32
	Stopped              []bool
	B, T                 int
	Tokens               []int32
	Mask                 []float32
	Start                []int
	// LogProbs are the sampling policy's log-probs (from generation);
	// RefLogProbs the reference's (nil when there is no reference).
	LogProbs, RefLogProbs []float32
	// Scores are the scorer's, after the missing-EOS penalty.
	Scores []float64
}

// Len is completion b's length in tokens.
func (r *Rollout) Len(b int) int { return len(r.Completions[b]) }

// Tok returns the flat index of completion b's token j.
func (r *Rollout) Tok(b, j int) int { return b*r.T + r.Start[b] + j }

// NumTokens counts the completion tokens of the whole batch.
func (r *Rollout) NumTokens() int {
	n := 0
	for b := range r.Completions {
		n += r.Len(b)
	}
	return n
}

// sampleRollout generates one completion per prompt with policy (sequence
// i drawing from seed+i), scores them, and fills in the reference's
// log-probs when ref is not nil.
func sampleRollout(policy, ref *model.Model, scorer Scorer, prompts [][]int32, cfg RolloutConfig, seed int64) (*Rollout, error) {
	if len(prompts) == 0 {
		return nil, errors.New("rollout: no prompts")
	}
	gens, err := policy.Generate(prompts, model.GenerateConfig{
		MaxNewTokens: cfg.ResponseLength, Temperature: 1, StopTokens: cfg.StopTokenIDs, Seed: seed,
	})
	if err != nil {
		return nil, fmt.Errorf("rollout: %w", err)
	}
	B := len(prompts)
	r := &Rollout{Prompts: prompts, Completions: make([][]int32, B), Stopped: make([]bool, B), B: B, Start: make([]int, B)}
	for b, g := range gens {
		r.Completions[b], r.Stopped[b], r.Start[b] = g.Tokens, g.Stopped, len(prompts[b])
		r.T = max(r.T, len(prompts[b])+len(g.Tokens))
	}
	T := r.T
	r.Tokens, r.Mask, r.LogProbs = make([]int32, B*T), make([]float32, B*T), make([]float32, B*T)
	for b, g := range gens {
		copy(r.Tokens[b*T:], prompts[b])
		copy(r.Tokens[b*T+r.Start[b]:], g.Tokens)
		for j, lp := range g.LogProbs {
			r.Mask[r.Tok(b, j)], r.LogProbs[r.Tok(b, j)] = 1, lp
		}
	}
	if r.Scores, err = scorer.Score(r.Prompts, r.Completions); err != nil {
		return nil, fmt.Errorf("rollout: score: %w", err)
	}
	if len(r.Scores) != B {
		return nil, fmt.Errorf("rollout: scorer returned %d scores for %d completions", len(r.Scores), B)
	}
	if len(cfg.StopTokenIDs) > 0 && cfg.MissingEOSPenalty > 0 {
		for b, stopped := range r.Stopped {
			if !stopped {
				r.Scores[b] -= cfg.MissingEOSPenalty
			}
		}
	}
	if ref != nil {
		if r.RefLogProbs, err = r.tokenLogProbs(ref, cfg.LocalRolloutForwardBatchSize); err != nil {
			return nil, fmt.Errorf("rollout: reference: %w", err)
		}
	}
	return r, nil
}

// tokenLogProbs returns m's log-probs of the completion tokens, running
// forward passes of at most chunk rows (0 = all).
func (r *Rollout) tokenLogProbs(m *model.Model, chunk int) ([]float32, error) {
	if chunk <= 0 {
		chunk = r.B
	}
	out := make([]float32, r.B*r.T)
	for lo := 0; lo < r.B; lo += chunk {
		hi := min(lo+chunk, r.B)
		lp, err := m.TokenLogProbs(r.Tokens[lo*r.T:hi*r.T], r.Mask[lo*r.T:hi*r.T], hi-lo, r.T, nil)
		if err != nil {
			return nil, err
		}
		copy(out[lo*r.T:], lp)
	}
	return out, nil
}

// gather copies rows idx of a [B·T] array into a new [len(idx)·T] one.
func gather[E int32 | float32](src []E, idx []int, T int) []E {
	out := make([]E, len(idx)*T)
	for i, b := range idx {
		copy(out[i*T:(i+1)*T], src[b*T:(b+1)*T])
	}
	return out
}

// promptStream hands out prompts in shuffled passes over the data set, as
// TRL's repeating dataloader does. Pass e's order is drawn from (seed, e)
// alone, so the stream's whole state is Pos, the prompts taken so far.
type promptStream struct {
	prompts [][]int32
	seed    int64
	Pos     int
	order   []int
	pass    int // the pass order was drawn for, or -1
}

func newPromptStream(prompts [][]int32, seed int64) *promptStream {
	return &promptStream{prompts: prompts, seed: seed, pass: -1}
}

// take returns the next n prompts.
func (s *promptStream) take(n int) [][]int32 {
	out := make([][]int32, n)
	N := len(s.prompts)
	for i := range out {
		if pass := s.Pos / N; pass != s.pass {
			s.order = rand.New(rand.NewPCG(uint64(s.seed), 0x9a0+uint64(pass))).Perm(N)
			s.pass = pass
		}
		out[i] = s.prompts[s.order[s.Pos%N]]
		s.Pos++
	}
	return out
}

// repeatEach returns each prompt k times in a row (group i is rows
// i·k .. i·k+k-1), the layout RLOO and GRPO baselines read.
func repeatEach(prompts [][]int32, k int) [][]int32 {
	out := make([][]int32, 0, len(prompts)*k)
	for _, p := range prompts {
		for range k {
			out = append(out, p)
		}
	}
	return out
}
