package mirage

import (
	"slices"

	"github.com/alignlab/alignlab/interp/steer"
	"github.com/alignlab/alignlab/lab"
	"github.com/alignlab/alignlab/model"
)

// Ablated is a lab policy whose residual stream has directions projected
// out at every position while it generates (directional ablation, Arditi
// et al. 2024, by steer.ProjectOut): at each hook, x ← x − (x·u)u for its
// unit vector u. It is a lab.Responder, so the lab's detectors measure it
// as they measure the policy itself; generation is the policy's own (KV
// cache, the same sampling streams) with the projections as
// lab.Policy.Hooks.
type Ablated struct {
	Policy *lab.Policy
	// Dirs maps a hook name to the unit vector projected out there.
	Dirs map[string][]float32
}

// hooks builds the projection hooks (steer.ProjectOut), in hook-name
// order.
func (a *Ablated) hooks() (*model.Hooks, error) {
	hs := model.NewHooks()
	names := make([]string, 0, len(a.Dirs))
	for n := range a.Dirs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := steer.ProjectOut(hs, n, a.Dirs[n]); err != nil {
			return nil, err
		}
	}
	return hs, nil
}

// Hooked returns the policy with the projection hooks as its Hooks (same
// weights, shared).
func (a *Ablated) Hooked() (*lab.Policy, error) {
	hs, err := a.hooks()
	if err != nil {
		return nil, err
	}
	p := *a.Policy
	p.Hooks = hs
	return &p, nil
}

// Replies generates with the directions projected out; prompt i draws from
// the stream seed+i, as lab.Policy.Generate does.
func (a *Ablated) Replies(ps []lab.Prompt, temperature float32, seed int64) ([]string, error) {
	p, err := a.Hooked()
	if err != nil {
		return nil, err
	}
	return p.Replies(ps, temperature, seed)
}

// ReplyLogProbs scores replies with the directions projected out.
func (a *Ablated) ReplyLogProbs(ps []lab.Prompt, replies []string) ([]float32, error) {
	p, err := a.Hooked()
	if err != nil {
		return nil, err
	}
	return p.ReplyLogProbs(ps, replies)
}
