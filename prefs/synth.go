package prefs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// Synthetic preference data with planted truth, for tests, benchmarks and
// the lab: arithmetic questions with one right answer, two responses (right
// and wrong, lengths independent of correctness), some prompts stating a
// belief ("I think the answer is 41."), and annotators of known kinds who
// label each pair. Planted duplicates, contradictions and cycles are
// appended. Output is TRL JSONL with annotator, timestamp and order columns.

// Annotator kinds of the generator.
const (
	KindHonest         = "honest"
	KindSycophantic    = "sycophantic"
	KindLengthBiased   = "length_biased"
	KindPositionBiased = "position_biased"
	KindDrifting       = "drifting"
	KindSpammer        = "spammer"
)

// SynthConfig sizes a synthetic data set. Zero values take the defaults in
// parentheses.
type SynthConfig struct {
	Seed          uint64
	Items         int // distinct prompt/response pairs (2000)
	LabelsPerItem int // annotators labelling each pair (5)
	// Annotators by kind (map from kind to count); nil means 20 honest
	// and 2 of each flawed kind.
	Annotators     map[string]int
	HonestNoise    float64   // chance an honest label is wrong (0.15)
	BiasStrength   float64   // chance a biased annotator follows the bias where it applies (0.9)
	BeliefRate     float64   // share of prompts stating a belief (0.4)
	Duplicates     int       // exact plus normalized duplicate rows to plant
	Contradictions int       // same annotator, same pair, opposite label
	Cycles         int       // prompts with a planted 3-cycle
	Start          time.Time // first timestamp (2024-01-01 UTC)
	Span           time.Duration
	Filler         int // extra sentences per response, at most (4); raises row size
}

// SynthTruth is what was planted.
type SynthTruth struct {
	Rows           int
	Kinds          map[string]string    // annotator id -> kind
	Flags          map[string][]string  // annotator id -> the flags an audit should raise
	DriftTime      map[string]time.Time // drifting annotator id -> change time
	Start, End     time.Time
	Duplicates     int
	Contradictions int
	Cycles         int
}

func (c *SynthConfig) defaults() {
	if c.Items == 0 {
		c.Items = 2000
	}
	if c.LabelsPerItem == 0 {
		c.LabelsPerItem = 5
	}
	if c.Annotators == nil {
		c.Annotators = map[string]int{KindHonest: 20, KindSycophantic: 2, KindLengthBiased: 2,
			KindPositionBiased: 2, KindDrifting: 2, KindSpammer: 2}
	}
	if c.HonestNoise == 0 {
		c.HonestNoise = 0.15
	}
	if c.BiasStrength == 0 {
		c.BiasStrength = 0.9
	}
	if c.BeliefRate == 0 {
		c.BeliefRate = 0.4
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.Span == 0 {
		c.Span = 90 * 24 * time.Hour
	}
	if c.Filler == 0 {
		c.Filler = 4
	}
}

var synthKinds = []string{KindHonest, KindSycophantic, KindLengthBiased, KindPositionBiased, KindDrifting, KindSpammer}

var fillers = []string{
	"Let me walk through it step by step.", "Adding the tens first makes this easier.",
	"This is a common kind of question.", "I double-checked the carry.", "Hope that helps!",
	"You can verify it with a calculator.", "The units digits combine first.", "That is the final result.",
}

type synthAnn struct {
	id    string
	kind  string
	drift float64 // change time in seconds from Start, drifting only
}

type synthRow struct {
	Prompt    string `json:"prompt"`
	Chosen    string `json:"chosen"`
	Rejected  string `json:"rejected"`
	Annotator string `json:"annotator"`
	Timestamp string `json:"timestamp"`
	Order     string `json:"order"`
}

// WriteSynth writes a synthetic data set to w and returns its truth.
func WriteSynth(w io.Writer, cfg SynthConfig) (SynthTruth, error) {
	cfg.defaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xa11915))
	span := cfg.Span.Seconds()
	truth := SynthTruth{Kinds: map[string]string{}, Flags: map[string][]string{}, DriftTime: map[string]time.Time{},
		Start: cfg.Start, End: cfg.Start.Add(cfg.Span)}
	var anns []synthAnn
	for _, k := range synthKinds {
		for i := 0; i < cfg.Annotators[k]; i++ {
			a := synthAnn{id: fmt.Sprintf("%s-%02d", k, i+1), kind: k}
			truth.Kinds[a.id] = k
			truth.Flags[a.id] = []string{}
			if k != KindHonest {
				truth.Flags[a.id] = []string{k}
			}
			if k == KindDrifting {
				a.drift = span * (0.25 + 0.5*rng.Float64())
				truth.DriftTime[a.id] = cfg.Start.Add(time.Duration(a.drift * float64(time.Second)))
			}
			anns = append(anns, a)
		}
	}
	if len(anns) < cfg.LabelsPerItem {
		return truth, fmt.Errorf("synth: %d annotators cannot give %d labels per item", len(anns), cfg.LabelsPerItem)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var written []synthRow
	keep := cfg.Duplicates + cfg.Contradictions
	emit := func(r synthRow) error {
		truth.Rows++
		if len(written) < keep*4 && rng.IntN(4) == 0 {
			written = append(written, r)
		}
		return enc.Encode(r)
	}
	stamp := func(sec float64) string {
		return cfg.Start.Add(time.Duration(sec * float64(time.Second))).UTC().Format(time.RFC3339)
	}
	response := func(ans int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "The answer is %d.", ans)
		for j := rng.IntN(cfg.Filler + 1); j > 0; j-- {
			b.WriteByte(' ')
			b.WriteString(fillers[rng.IntN(len(fillers))])
		}
		return b.String()
	}
	perm := make([]int, len(anns))
	for i := range perm {
		perm[i] = i
	}
	for it := 0; it < cfg.Items; it++ {
		x, y := 10+rng.IntN(90), 10+rng.IntN(90)
		right := x + y
		wrongAns := right + []int{-10, -2, -1, 1, 2, 10}[rng.IntN(6)]
		prompt := fmt.Sprintf("Question %d: what is %d + %d?", it+1, x, y)
		belief := 0 // 0 none, 1 the right answer, 2 the wrong one
		if rng.Float64() < cfg.BeliefRate {
			belief = 1 + rng.IntN(2)
			stated := right
			if belief == 2 {
				stated = wrongAns
			}
			prompt += fmt.Sprintf(" I think the answer is %d.", stated)
		}
		good, bad := response(right), response(wrongAns)
		for good == bad {
			bad = response(wrongAns)
		}
		goodLonger := 0 // 1 good longer, -1 bad longer, 0 neither by the audit's ratio
		switch longerOf(good, bad) {
		case 0:
			goodLonger = 1
		case 1:
			goodLonger = -1
		}
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for l := 0; l < cfg.LabelsPerItem; l++ {
			a := anns[perm[l]]
			t := rng.Float64() * span
			goodFirst := rng.IntN(2) == 0
			pickGood := rng.Float64() >= cfg.HonestNoise
			follow := rng.Float64() < cfg.BiasStrength
			switch a.kind {
			case KindSycophantic:
				if belief != 0 && follow {
					pickGood = belief == 1
				}
			case KindLengthBiased:
				if goodLonger != 0 && follow {
					pickGood = goodLonger == 1
				}
			case KindPositionBiased:
				if follow {
					pickGood = goodFirst
				}
			case KindDrifting:
				if t >= a.drift {
					pickGood = rng.IntN(2) == 0
				}
			case KindSpammer:
				pickGood = rng.IntN(2) == 0
			}
			r := synthRow{Prompt: prompt, Chosen: good, Rejected: bad, Annotator: a.id, Timestamp: stamp(t)}
			if !pickGood {
				r.Chosen, r.Rejected = bad, good
			}
			if goodFirst == pickGood {
				r.Order = "chosen"
			} else {
				r.Order = "rejected"
			}
			if err := emit(r); err != nil {
				return truth, err
			}
		}
	}
	// Planted problems, drawn from rows already written.
	for i := 0; i < cfg.Duplicates && len(written) > 0; i++ {
		r := written[rng.IntN(len(written))]
		if i%2 == 1 {
			r.Prompt = "  " + strings.ToUpper(r.Prompt[:1]) + strings.ReplaceAll(r.Prompt[1:], " ", "  ")
			r.Chosen = strings.ToUpper(r.Chosen)
		}
		if err := enc.Encode(r); err != nil {
			return truth, err
		}
		truth.Rows++
		truth.Duplicates++
	}
	for i := 0; i < cfg.Contradictions && len(written) > 0; i++ {
		j := rng.IntN(len(written))
		r := written[j]
		written = append(written[:j], written[j+1:]...)
		r.Chosen, r.Rejected = r.Rejected, r.Chosen
		if err := enc.Encode(r); err != nil {
			return truth, err
		}
		truth.Rows++
		truth.Contradictions++
	}
	for i := 0; i < cfg.Cycles; i++ {
		prompt := fmt.Sprintf("Cycle %d: which phrasing of the greeting is best?", i+1)
		resp := []string{fmt.Sprintf("Hello there, friend %d.", i), fmt.Sprintf("Hi, pal %d!", i), fmt.Sprintf("Greetings, companion %d.", i)}
		a := anns[rng.IntN(len(anns))]
		for e := 0; e < 3; e++ {
			r := synthRow{Prompt: prompt, Chosen: resp[e], Rejected: resp[(e+1)%3], Annotator: a.id,
				Timestamp: stamp(rng.Float64() * span), Order: "chosen"}
			if err := enc.Encode(r); err != nil {
				return truth, err
			}
			truth.Rows++
		}
		truth.Cycles++
	}
	return truth, bw.Flush()
}
