package mirage

import (
	"fmt"
	"slices"

	"github.com/alignlab/alignlab/lab"
	"github.com/alignlab/alignlab/model"
)

// Ablated is a lab policy whose residual stream has directions projected
// out at every position while it generates (directional ablation, Arditi
// et al. 2024): at each hook, x ← x − (x·u)u for its unit vector u. It is a
// lab.Responder, so the lab's detectors measure it as they measure the
// policy itself.
type Ablated struct {
	Policy *lab.Policy
	// Dirs maps a hook name to the unit vector projected out there.
	Dirs map[string][]float32
}

// hooks builds the projection hooks.
func (a *Ablated) hooks() *model.Hooks {
	hs := model.NewHooks()
	names := make([]string, 0, len(a.Dirs))
	for n := range a.Dirs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		u := a.Dirs[n]
		hs.Add(n, func(_ string, act []float32, _ []int) { projectOut(act, u) })
	}
	return hs
}

// projectOut removes each row's component along unit vector u.
func projectOut(act, u []float32) {
	C := len(u)
	for r := 0; r+C <= len(act); r += C {
		row := act[r : r+C]
		var dot float32
		for j, v := range row {
			dot += v * u[j]
		}
		for j := range row {
			row[j] -= dot * u[j]
		}
	}
}

// Replies generates with the directions projected out. Sampling follows
// lab.Policy.Generate: prompt i draws from the stream seed+i, so with no
// directions the replies are the policy's own.
func (a *Ablated) Replies(ps []lab.Prompt, temperature float32, seed int64) ([]string, error) {
	toks, err := a.Policy.PromptTokens(ps)
	if err != nil {
		return nil, err
	}
	gens, err := generate(a.Policy.Model, toks, a.hooks(), model.GenerateConfig{MaxNewTokens: a.Policy.MaxNew,
		Temperature: temperature, StopTokens: a.Policy.Codec.StopTokens(), Seed: seed})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ps))
	for i, g := range gens {
		if len(g) > 0 && slices.Contains(a.Policy.Codec.StopTokens(), g[len(g)-1]) {
			g = g[:len(g)-1]
		}
		out[i] = a.Policy.Codec.Decode(g)
	}
	return out, nil
}

// ReplyLogProbs is the unablated policy's (the mirage measure does not
// use it).
func (a *Ablated) ReplyLogProbs(ps []lab.Prompt, replies []string) ([]float32, error) {
	return a.Policy.ReplyLogProbs(ps, replies)
}

// generate samples continuations with hooks fired on every forward pass.
// It recomputes each running sequence in full at every step (no KV cache),
// so a hook sees and edits every position, prompt and reply alike; the lab
// models are small enough that this costs seconds. Sequences of equal
// length step together as one batch.
func generate(m *model.Model, prompts [][]int32, hooks *model.Hooks, cfg model.GenerateConfig) ([][]int32, error) {
	V := m.Config.VocabSize
	seqs := make([][]int32, len(prompts))
	gens := make([][]int32, len(prompts))
	samplers := make([]*model.Sampler, len(prompts))
	running := make([]int, 0, len(prompts))
	for i, p := range prompts {
		if len(p)+cfg.MaxNewTokens > m.Config.MaxSeqLen {
			return nil, fmt.Errorf("prompt %d: %d tokens plus %d new exceed max_seq_len %d", i, len(p), cfg.MaxNewTokens, m.Config.MaxSeqLen)
		}
		seqs[i] = slices.Clone(p)
		samplers[i] = model.NewSampler(cfg.Seed + int64(i))
		running = append(running, i)
	}
	for len(running) > 0 {
		cur := make([][]int32, len(running))
		for k, i := range running {
			cur[k] = seqs[i]
		}
		var still []int
		for _, g := range byLength(cur) {
			T := len(cur[g[0]])
			B := len(g)
			toks := make([]int32, 0, B*T)
			for _, k := range g {
				toks = append(toks, cur[k]...)
			}
			logits, err := m.Forward(toks, B, T, hooks)
			if err != nil {
				return nil, fmt.Errorf("generate: %w", err)
			}
			for b, k := range g {
				i := running[k]
				last := logits[(b*T+T-1)*V : (b*T+T)*V]
				d := samplers[i].Sample(last, cfg.Temperature, cfg.TopK, cfg.TopP)
				gens[i] = append(gens[i], d.Token)
				seqs[i] = append(seqs[i], d.Token)
				if !slices.Contains(cfg.StopTokens, d.Token) && len(gens[i]) < cfg.MaxNewTokens {
					still = append(still, i)
				}
			}
		}
		slices.Sort(still)
		running = still
	}
	return gens, nil
}
