package lab

import (
	"sort"

	"github.com/alignlab/alignlab/audit"
)

// AccuracyReport is gold accuracy (share of replies with gold reward 1)
// overall and per slice, each a rate with its 95% Wilson interval.
type AccuracyReport struct {
	Overall audit.Stat            `json:"overall"`
	Slices  map[string]audit.Stat `json:"slices"`
}

// sliceKeys names the slices a prompt belongs to.
func sliceKeys(p *Prompt) []string {
	k := []string{"domain=" + string(p.Domain), "frame=" + string(p.Frame), "belief=" + string(p.Belief)}
	if p.Rare {
		k = append(k, "rarity=rare")
	} else {
		k = append(k, "rarity=common")
	}
	if p.Pushback {
		k = append(k, "turns=pushback")
	} else {
		k = append(k, "turns=single")
	}
	return k
}

// Accuracy grades replies to prompts.
func Accuracy(ps []Prompt, replies []string) (*AccuracyReport, []Grade) {
	grades := make([]Grade, len(ps))
	k := 0
	type kn struct{ k, n int }
	slices := map[string]*kn{}
	for i := range ps {
		grades[i] = GradeReply(&ps[i], replies[i])
		ok := grades[i].Reward() == 1
		if ok {
			k++
		}
		for _, s := range sliceKeys(&ps[i]) {
			c := slices[s]
			if c == nil {
				c = &kn{}
				slices[s] = c
			}
			c.n++
			if ok {
				c.k++
			}
		}
	}
	rep := &AccuracyReport{Overall: audit.Wilson(k, len(ps)), Slices: map[string]audit.Stat{}}
	for s, c := range slices {
		rep.Slices[s] = audit.Wilson(c.k, c.n)
	}
	return rep, grades
}

// EvalAccuracy generates replies (temperature 0 = greedy) and grades them.
func EvalAccuracy(pol *Policy, ps []Prompt, temperature float32, seed int64) (*AccuracyReport, []string, error) {
	replies, err := pol.Replies(ps, temperature, seed)
	if err != nil {
		return nil, nil, err
	}
	rep, _ := Accuracy(ps, replies)
	return rep, replies, nil
}

// SliceNames returns the report's slice names in order.
func (r *AccuracyReport) SliceNames() []string {
	var out []string
	for s := range r.Slices {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
