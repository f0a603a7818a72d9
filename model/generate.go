// Batched generation: prefill every prompt together, then one decode step
// per new token for the sequences still running.

package model

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/alignlab/alignlab/tensor"
)

// GenerateConfig says how Generate samples. The zero value of each sampling
// field means "off": Temperature 0 is greedy decoding, TopK 0 keeps every
// token, TopP 0 (or 1) disables the nucleus filter.
type GenerateConfig struct {
	// MaxNewTokens caps the tokens generated per sequence (must be >= 1).
	MaxNewTokens int
	// Temperature divides the logits before sampling; 0 means greedy argmax.
	Temperature float32
	// TopK keeps only the TopK most likely tokens (0 = all).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches TopP, after top-k (0 or 1 = off).
	TopP float32
	// StopTokens end a sequence when sampled (e.g. end-of-sequence).
	StopTokens []int32
	// Seed fixes the randomness: sequence i draws from its own stream seeded
	// with Seed+i, so prompt i generated alone with Seed+i gives the same
	// tokens as in the batch.
	Seed int64
	// Seeds, when non-nil, gives each sequence its own stream instead
	// (sequence i draws from Seeds[i]), so that requests with unrelated
	// seeds can share one batch; it must have one seed per prompt.
	Seeds []int64
	// Hooks, when non-nil, fire during the prefill and every decode step
	// (see KVCache.SetHooks for the shapes and row order a callback sees),
	// so a hook that adds to or overwrites an activation steers what is
	// generated. Hooks.Sequence gives the prompt index of a row. nil costs
	// nothing.
	Hooks *Hooks
	// HalfKV stores the KV cache in fp16 (see NewHalfKVCache): half the
	// cache memory and bandwidth, at a rounding of keys and values that
	// moves the logits by about 1e-3 of their spread. Off by default.
	HalfKV bool
}

// Generation is what one prompt produced: the new tokens only, not the
// prompt.
type Generation struct {
	// Tokens are the sampled tokens. When Stopped, the last one is the stop
	// token: it is reported (with its log-prob), as Hugging Face returns it,
	// and a caller building text should drop it.
	Tokens []int32
	// LogProbs[i] is log p(Tokens[i] | prompt, Tokens[:i]) under the
	// unmodified model (log-softmax of the raw logits, regardless of
	// temperature, top-k or top-p), so their sum is the sequence log-prob.
	LogProbs []float32
	// SampleLogProbs[i] is the log-probability of Tokens[i] under the
	// distribution actually sampled from (after temperature, top-k, top-p);
	// all 0 for greedy decoding.
	SampleLogProbs []float32
	// Stopped reports that generation ended on a stop token rather than at
	// MaxNewTokens.
	Stopped bool
}

// Generate continues every prompt (token ids, each non-empty; lengths may
// differ) by up to cfg.MaxNewTokens tokens. All prompts are prefilled
// together, then each decode step feeds the newest token of every sequence
// still running as one batch, so the weights are read once per step. It
// returns one Generation per prompt, in order. The KV cache takes
// 2·NumLayers·len(prompts)·(longest prompt + MaxNewTokens)·NumKVHeads·HeadDim
// floats; split very large batches.
func (m *Model) Generate(prompts [][]int32, cfg GenerateConfig) ([]Generation, error) {
	if err := m.checkGenerate(prompts, cfg); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	B := len(prompts)
	maxPrompt := 0
	for _, p := range prompts {
		maxPrompt = max(maxPrompt, len(p))
	}
	// The last new token is never fed back, hence the -1.
	cache := m.newKVCache(B, maxPrompt+cfg.MaxNewTokens-1, cfg.HalfKV)
	cache.SetHooks(cfg.Hooks)
	logits, err := m.Prefill(cache, prompts)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	gens := make([]Generation, B)
	samplers := make([]*Sampler, B)
	for i := range gens {
		n := cfg.MaxNewTokens
		gens[i] = Generation{Tokens: make([]int32, 0, n), LogProbs: make([]float32, 0, n), SampleLogProbs: make([]float32, 0, n)}
		seed := cfg.Seed + int64(i)
		if cfg.Seeds != nil {
			seed = cfg.Seeds[i]
		}
		samplers[i] = NewSampler(seed)
	}
	// One scratch per sampling worker, shared by the sequences it draws for.
	workers := tensor.Threads()
	scratch := make([]*sampleScratch, workers)
	for w := range scratch {
		scratch[w] = new(sampleScratch)
	}
	V := m.Config.VocabSize
	active := make([]int, B) // sequences of the current logits rows, in order
	for i := range active {
		active[i] = i
	}
	draws := make([]Sample, B)
	next := make([]int32, 0, B)
	for len(active) > 0 {
		// Sampling is a pass over the vocabulary per sequence: spread it,
		// the rows taken from a shared counter so that a worker that
		// loses its core on a busy machine does not hold the step up.
		var nextRow atomic.Int64
		tensor.Parallel(min(workers, len(active)), func(w, _ int) {
			for {
				j := int(nextRow.Add(1) - 1)
				if j >= len(active) {
					return
				}
				s := samplers[active[j]]
				s.sampleScratch = scratch[w]
				draws[j] = s.Sample(logits[j*V:(j+1)*V], cfg.Temperature, cfg.TopK, cfg.TopP)
			}
		})
		still := active[:0]
		next = next[:0]
		for j, i := range active {
			d := draws[j]
			g := &gens[i]
			g.Tokens = append(g.Tokens, d.Token)
			g.LogProbs = append(g.LogProbs, d.LogProb)
			g.SampleLogProbs = append(g.SampleLogProbs, d.SampleLogProb)
			switch {
			case slices.Contains(cfg.StopTokens, d.Token):
				g.Stopped = true
			case len(g.Tokens) < cfg.MaxNewTokens:
				still = append(still, i)
				next = append(next, d.Token)
				continue
			}
			cache.SetActive(i, false)
		}
		active = still
		if len(active) == 0 {
			break
		}
		if logits, err = m.DecodeStep(cache, next); err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
	}
	return gens, nil
}

// checkGenerate reports the first problem with a Generate call.
func (m *Model) checkGenerate(prompts [][]int32, cfg GenerateConfig) error {
	c := m.Config
	switch {
	case len(prompts) == 0:
		return errors.New("no prompts")
	case cfg.MaxNewTokens < 1:
		return fmt.Errorf("max new tokens must be at least 1, got %d", cfg.MaxNewTokens)
	case !(cfg.Temperature >= 0) || math.IsInf(float64(cfg.Temperature), 0):
		return fmt.Errorf("temperature must be finite and >= 0, got %g", cfg.Temperature)
	case cfg.TopK < 0:
		return fmt.Errorf("top-k must be >= 0, got %d", cfg.TopK)
	case !(cfg.TopP >= 0 && cfg.TopP <= 1):
		return fmt.Errorf("top-p must be in [0, 1], got %g", cfg.TopP)
	case cfg.Seeds != nil && len(cfg.Seeds) != len(prompts):
		return fmt.Errorf("%d seeds for %d prompts", len(cfg.Seeds), len(prompts))
	}
	for _, t := range cfg.StopTokens {
		if t < 0 || int(t) >= c.VocabSize {
			return fmt.Errorf("stop token %d out of range [0, %d)", t, c.VocabSize)
		}
	}
	for i, p := range prompts {
		if len(p) == 0 {
			return fmt.Errorf("prompt %d is empty", i)
		}
		if cfg.MaxNewTokens > c.MaxSeqLen-len(p) { // not len+new: it could overflow
			return fmt.Errorf("prompt %d: %d prompt + %d new tokens exceed max_seq_len %d",
				i, len(p), cfg.MaxNewTokens, c.MaxSeqLen)
		}
		for j, t := range p {
			if t < 0 || int(t) >= c.VocabSize {
				return fmt.Errorf("prompt %d token %d: id %d out of range [0, %d)", i, j, t, c.VocabSize)
			}
		}
	}
	return nil
}
