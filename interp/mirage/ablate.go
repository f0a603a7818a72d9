package mirage

import (
	"slices"

	"github.com/alignlab/alignlab/lab"
	"github.com/alignlab/alignlab/model"
)

// Ablated is a lab policy whose residual stream has directions projected
// out at every position while it generates (directional ablation, Arditi
// et al. 2024): at each hook, x ← x − (x·u)u for its unit vector u. It is a
// lab.Responder, so the lab's detectors measure it as they measure the
// policy itself; generation is the policy's own (KV cache, the same
// sampling streams) with the projections as lab.Policy.Hooks.
type Ablated struct {
	Policy *lab.Policy
	// Dirs maps a hook name to the unit vector projected out there.
	Dirs map[string][]float32
}

// hooks builds the projection hooks, in hook-name order.
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

// hooked is the policy with the projection hooks (same weights).
func (a *Ablated) hooked() *lab.Policy {
	p := *a.Policy
	p.Hooks = a.hooks()
	return &p
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

// Replies generates with the directions projected out; prompt i draws from
// the stream seed+i, as lab.Policy.Generate does.
func (a *Ablated) Replies(ps []lab.Prompt, temperature float32, seed int64) ([]string, error) {
	return a.hooked().Replies(ps, temperature, seed)
}

// ReplyLogProbs scores replies with the directions projected out.
func (a *Ablated) ReplyLogProbs(ps []lab.Prompt, replies []string) ([]float32, error) {
	return a.hooked().ReplyLogProbs(ps, replies)
}
