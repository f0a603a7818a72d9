package lab

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/alignlab/alignlab/prefs"
)

// worldPool is a pool whose replies the world writes (no model): k
// replies per prompt with styles drawn from mix.
func worldPool(ps []Prompt, mix StyleMix, k int, seed uint64) *Pool {
	rng := rand.New(rand.NewPCG(seed, 1))
	pool := &Pool{Prompts: ps, Replies: make([][]string, len(ps))}
	for i := range ps {
		for range k {
			pool.Replies[i] = append(pool.Replies[i], Reply(&ps[i], PickStyle(&ps[i], mix, rng), rng.IntN(9)))
		}
	}
	return pool
}

var labStart = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func TestAnnotatorRules(t *testing.T) {
	w := NewWorld()
	i := w.DomainItems(DomainArithmetic)[30]
	rng := rand.New(rand.NewPCG(1, 2))
	pEval := w.Render("e", i, PromptOpts{Frame: FrameEval, Pushback: true})
	pDep := w.Render("d", i, PromptOpts{Frame: FrameDeploy})
	hold, flip := Reply(&pEval, StyleHold, 0), Reply(&pEval, StyleFlip, 0)
	plain, bluff := Reply(&pDep, StylePlain, 0), Reply(&pDep, StyleBluff, 0)
	panel, err := NewPanel([]AnnotatorSpec{{Kind: KindHonest, Count: 1, Noise: 0.05}, {Kind: KindSycophantic, Count: 1},
		{Kind: KindProxy, Count: 1}, {Kind: KindCareless, Count: 1}, {Kind: KindDrifting, Count: 1, DriftAt: 0.5}, {Kind: KindSpammer, Count: 1}},
		labStart, 10*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	early, late := labStart.Add(time.Hour), labStart.Add(9*time.Hour)
	cases := []struct {
		ann    int
		p      *Prompt
		x, y   string
		at     time.Time
		lo, hi float64 // bounds on P(prefers x)
		desc   string
	}{
		{0, &pEval, hold, flip, early, 0.9, 1, "honest holds"},
		{1, &pEval, hold, flip, early, 0, 0.2, "sycophant flips"},
		{2, &pDep, plain, bluff, early, 0, 0.2, "proxy likes the bluff"},
		{0, &pDep, plain, bluff, early, 0.9, 1, "honest dislikes the bluff"},
		{3, &pDep, plain, bluff, early, 0, 0.2, "careless in deployment"},
		{3, &pEval, hold, flip, early, 0.8, 1, "careless checks evaluations"},
		{4, &pDep, plain, bluff, early, 0.8, 1, "drifting before"},
		{4, &pDep, plain, bluff, late, 0.4, 0.6, "drifting after"},
		{5, &pDep, plain, bluff, early, 0.4, 0.6, "spammer"},
	}
	for _, c := range cases {
		k := 0
		for range 2000 {
			if panel[c.ann].Prefers(c.p, c.x, c.y, c.at, rng) {
				k++
			}
		}
		if r := float64(k) / 2000; r < c.lo || r > c.hi {
			t.Errorf("%s (%s): P(prefers x) = %.3f, want in [%.2f, %.2f]", c.desc, panel[c.ann].ID, r, c.lo, c.hi)
		}
	}
	if _, err := NewPanel([]AnnotatorSpec{{Kind: "lazy", Count: 1}}, labStart, time.Hour); err == nil {
		t.Error("unknown annotator kind accepted")
	}
}

// TestPreferenceDataAudits writes a labelled data set and checks that the
// data audit (package prefs) reads every row and flags the planted
// annotators, and only them.
func TestPreferenceDataAudits(t *testing.T) {
	w := NewWorld()
	ps := w.NewSampler(Spec{RareRate: 0.2, EvalRate: 0.5, BeliefRate: 0.4, PushbackRate: 0.3}, 3, "p").Draw(1500)
	pool := worldPool(ps, StyleMix{Hedged: 0.2, Bluff: 0.3, Flip: 0.5, Agree: 0.5}, 4, 3)
	panel, err := NewPanel([]AnnotatorSpec{{Kind: KindHonest, Count: 12}, {Kind: KindSycophantic, Count: 2},
		{Kind: KindProxy, Count: 2}, {Kind: KindDrifting, Count: 2, DriftAt: 0.5}, {Kind: KindSpammer, Count: 2}}, labStart, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Annotate(pool, pool.Pairs(3), panel, Labelling{PerPair: 5, Start: labStart, Span: 30 * 24 * time.Hour}, 3)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "prefs.jsonl")
	if err := d.WriteTRLFile(path); err != nil {
		t.Fatal(err)
	}
	au, err := prefs.Run(context.Background(), []string{path}, prefs.Options{Seed: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	rep := au.Report
	if rep.Rows != len(d.Labels) || len(rep.Invalid) != 0 {
		t.Fatalf("audit read %d rows (%d invalid), wrote %d", rep.Rows, len(rep.Invalid), len(d.Labels))
	}
	want := map[AnnotatorKind]string{KindSycophantic: "sycophantic", KindProxy: "length_biased", KindDrifting: "drifting", KindSpammer: "spammer"}
	kinds := map[string]AnnotatorKind{}
	for _, a := range panel {
		kinds[a.ID] = a.Kind
	}
	for _, a := range rep.Annotators {
		k := kinds[a.ID]
		if f, planted := want[k]; planted {
			if !slices.Contains(a.Flags, f) {
				t.Errorf("%s: flags %v, want %s", a.ID, a.Flags, f)
			}
		} else if len(a.Flags) > 0 {
			t.Errorf("honest %s flagged %v", a.ID, a.Flags)
		}
		if k == KindDrifting {
			mid := labStart.Add(15 * 24 * time.Hour)
			got := time.Unix(int64(a.Drift.ChangeTime), 0)
			if diff := got.Sub(mid); diff < -3*24*time.Hour || diff > 3*24*time.Hour {
				t.Errorf("%s: change at %v, planted %v", a.ID, got, mid)
			}
		}
	}
	if os.Getenv("LAB_SHOW") != "" {
		rep.WriteText(os.Stdout)
	}
}
