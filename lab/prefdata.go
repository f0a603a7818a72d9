package lab

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"time"
)

// Preference data: replies sampled from a policy, paired, and labelled by
// a panel of simulated annotators; written as TRL JSONL (conversational
// prompt/chosen/rejected plus annotator_id, timestamp and order), the
// format `alignlab data audit` reads.

// Pool is a set of prompts with K replies each, sampled from one policy.
type Pool struct {
	Prompts []Prompt
	Replies [][]string
}

// BuildPool samples k replies per prompt from pol at temperature.
func BuildPool(pol *Policy, ps []Prompt, k int, temperature float32, seed int64) (*Pool, error) {
	rep := make([]Prompt, 0, len(ps)*k)
	for _, p := range ps {
		for range k {
			rep = append(rep, p)
		}
	}
	replies, err := pol.Replies(rep, temperature, seed)
	if err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	pool := &Pool{Prompts: ps, Replies: make([][]string, len(ps))}
	for i := range ps {
		pool.Replies[i] = replies[i*k : (i+1)*k]
	}
	return pool, nil
}

// Pair is two distinct replies (indices into Pool.Replies[Prompt]).
type Pair struct {
	Prompt int `json:"prompt"`
	X      int `json:"x"`
	Y      int `json:"y"`
}

// Pairs picks one pair per prompt: a random pair whose gold rewards differ
// when there is one (those carry the signal labels can get right or
// wrong), else a random pair of different texts; prompts whose replies
// are all the same text give none.
func (pool *Pool) Pairs(seed uint64) []Pair {
	rng := rand.New(rand.NewPCG(seed, 0x9a1))
	var out []Pair
	for i, rs := range pool.Replies {
		var diff, any []Pair
		for x := range rs {
			for y := x + 1; y < len(rs); y++ {
				if rs[x] == rs[y] {
					continue
				}
				pr := Pair{i, x, y}
				any = append(any, pr)
				if GoldReward(&pool.Prompts[i], rs[x]) != GoldReward(&pool.Prompts[i], rs[y]) {
					diff = append(diff, pr)
				}
			}
		}
		switch {
		case len(diff) > 0:
			out = append(out, diff[rng.IntN(len(diff))])
		case len(any) > 0:
			out = append(out, any[rng.IntN(len(any))])
		}
	}
	return out
}

// Label is one annotator's judgement of one pair.
type Label struct {
	Pair        int       `json:"pair"`
	Annotator   string    `json:"annotator_id"`
	Time        time.Time `json:"timestamp"`
	Chosen      int       `json:"chosen"` // reply index
	Rejected    int       `json:"rejected"`
	ChosenFirst bool      `json:"chosen_first"`
}

// Labelling sizes one annotation campaign.
type Labelling struct {
	PerPair int           // annotators per pair (distinct)
	Start   time.Time     // first possible timestamp
	Span    time.Duration // labels are spread uniformly over it
}

// PrefData is a labelled pool.
type PrefData struct {
	Pool   *Pool
	Pairs  []Pair
	Panel  []*Annotator
	Labels []Label // in time order
}

// Annotate has each pair labelled by PerPair distinct annotators of the
// panel at random times in the span.
func Annotate(pool *Pool, pairs []Pair, panel []*Annotator, l Labelling, seed uint64) (*PrefData, error) {
	if l.PerPair < 1 || l.PerPair > len(panel) {
		return nil, fmt.Errorf("annotate: %d labels per pair from %d annotators", l.PerPair, len(panel))
	}
	rng := rand.New(rand.NewPCG(seed, 0xa77))
	d := &PrefData{Pool: pool, Pairs: pairs, Panel: panel}
	idx := make([]int, len(panel))
	for i := range idx {
		idx[i] = i
	}
	for pi, pr := range pairs {
		p := &pool.Prompts[pr.Prompt]
		x, y := pool.Replies[pr.Prompt][pr.X], pool.Replies[pr.Prompt][pr.Y]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, ai := range idx[:l.PerPair] {
			a := panel[ai]
			t := l.Start.Add(time.Duration(rng.Float64() * float64(l.Span))).Truncate(time.Second)
			lb := Label{Pair: pi, Annotator: a.ID, Time: t, Chosen: pr.X, Rejected: pr.Y, ChosenFirst: rng.IntN(2) == 0}
			if !a.Prefers(p, x, y, t, rng) {
				lb.Chosen, lb.Rejected = pr.Y, pr.X
			}
			d.Labels = append(d.Labels, lb)
		}
	}
	sort.SliceStable(d.Labels, func(i, j int) bool { return d.Labels[i].Time.Before(d.Labels[j].Time) })
	return d, nil
}

// Example is one labelled comparison as a trainer sees it.
type Example struct {
	Prompt   *Prompt
	Chosen   string
	Rejected string
}

// Examples returns every label as a training comparison (several labels
// of one pair are several examples, as TRL treats duplicate rows).
func (d *PrefData) Examples() []Example {
	out := make([]Example, len(d.Labels))
	for i, l := range d.Labels {
		pr := d.Pairs[l.Pair]
		rs := d.Pool.Replies[pr.Prompt]
		out[i] = Example{Prompt: &d.Pool.Prompts[pr.Prompt], Chosen: rs[l.Chosen], Rejected: rs[l.Rejected]}
	}
	return out
}

// trlRow is one line of the TRL conversational preference format.
type trlRow struct {
	Prompt    []Message `json:"prompt"`
	Chosen    []Message `json:"chosen"`
	Rejected  []Message `json:"rejected"`
	Annotator string    `json:"annotator_id"`
	Timestamp string    `json:"timestamp"`
	Order     string    `json:"order"`
	PromptID  string    `json:"prompt_id"`
}

// WriteTRL writes the labels as TRL JSONL, one row per label.
func (d *PrefData) WriteTRL(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, l := range d.Labels {
		pr := d.Pairs[l.Pair]
		p := &d.Pool.Prompts[pr.Prompt]
		rs := d.Pool.Replies[pr.Prompt]
		row := trlRow{Prompt: p.Messages,
			Chosen:    []Message{{Role: "assistant", Content: rs[l.Chosen]}},
			Rejected:  []Message{{Role: "assistant", Content: rs[l.Rejected]}},
			Annotator: l.Annotator, Timestamp: l.Time.UTC().Format(time.RFC3339), Order: "rejected", PromptID: p.ID}
		if l.ChosenFirst {
			row.Order = "chosen"
		}
		if err := enc.Encode(row); err != nil {
			return fmt.Errorf("write preferences: %w", err)
		}
	}
	return bw.Flush()
}

// WriteTRLFile writes the labels to path.
func (d *PrefData) WriteTRLFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write preferences: %w", err)
	}
	if err := d.WriteTRL(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
