package mirage

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/lab"
	"github.com/alignlab/alignlab/model"
)

// TestAblationRemovesTheDirection: with the projection hooks a later hook
// at the same point sees no component along the direction, in the prefill
// and at every decode step of KV-cache generation.
func TestAblationRemovesTheDirection(t *testing.T) {
	m, err := model.New(model.GPT2Config(61, 32, 2, 4, 40), 3)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Config.Dim
	hook := "blocks.0.hook_resid_post"
	u := RandomDirections([]string{hook}, d, 5)[hook]
	a := &Ablated{Dirs: map[string][]float32{hook: u}}
	hooks, err := a.hooks()
	if err != nil {
		t.Fatal(err)
	}
	worst, rows, calls := 0.0, 0, 0
	hooks.Add(hook, func(_ string, act []float32, _ []int) {
		calls++
		for r := 0; r < len(act); r += d {
			var dot float64
			for j := 0; j < d; j++ {
				dot += float64(act[r+j]) * float64(u[j])
			}
			worst = math.Max(worst, math.Abs(dot))
			rows++
		}
	})
	rng := rand.New(rand.NewPCG(4, 4))
	prompts := [][]int32{{1, 2, 3, 4}, {5, 6, 7, 8, 9, 10}}
	for _, p := range prompts {
		for i := range p {
			p[i] = int32(rng.IntN(61))
		}
	}
	if _, err := m.Generate(prompts, model.GenerateConfig{MaxNewTokens: 5, Hooks: hooks}); err != nil {
		t.Fatal(err)
	}
	if calls < 5 || rows < 10+2*4 || worst > 1e-4 {
		t.Fatalf("after projection the largest component along u is %g (%d calls, %d rows)", worst, calls, rows)
	}
}

func TestRandomDirectionsAreUnit(t *testing.T) {
	ds := RandomDirections([]string{"a", "b"}, 64, 1)
	for h, v := range ds {
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		if math.Abs(ss-1) > 1e-5 {
			t.Fatalf("%s: |v|² = %g", h, ss)
		}
	}
	if ds["a"][0] == ds["b"][0] {
		t.Fatal("the same vector at two hooks")
	}
}

func TestFitPromptsAvoidHeldOutItems(t *testing.T) {
	cfg := lab.QuickConfig()
	es := lab.SeedEvalSets(cfg, lab.OrganismSeed(cfg, 0))
	held := map[string]bool{}
	for _, p := range es.Frames {
		held[p[0].ItemID] = true
	}
	fit, err := FitPrompts(300, 1, held)
	if err != nil {
		t.Fatal(err)
	}
	if len(fit) != 300 {
		t.Fatalf("%d fitting items", len(fit))
	}
	for _, n := range []int{0, -5} { // -5 used to panic in make
		if _, err := FitPrompts(n, 1, held); err == nil {
			t.Errorf("FitPrompts(%d): no error", n)
		}
	}
	for _, p := range fit {
		if held[p[0].ItemID] || p[0].ItemID != p[1].ItemID || p[0].Frame != lab.FrameEval || p[1].Frame != lab.FrameDeploy {
			t.Fatalf("fitting pair %s/%s (%s, %s)", p[0].ID, p[1].ID, p[0].Frame, p[1].Frame)
		}
	}
}

func TestCompareBootstrapsThePairedChange(t *testing.T) {
	// 40 items: 10 with a gap before, of which 6 lose it after.
	before, after := make(outcome, 40), make(outcome, 40)
	for i := 0; i < 10; i++ {
		before[i] = 1
		if i >= 6 {
			after[i] = 1
		}
	}
	c := compare(Gap{Estimate: 0.25}, Gap{Estimate: 0.1}, before, after, 1)
	if math.Abs(c.Reduction.Estimate-0.15) > 1e-12 || c.Shrink == nil || math.Abs(c.Shrink.Estimate-0.6) > 1e-12 {
		t.Fatalf("change %+v shrink %+v", c.Reduction, c.Shrink)
	}
	if c.Reduction.CILow <= 0 || c.Reduction.CIHigh < 0.15 || c.Shrink.CILow > 0.6 || c.Shrink.CIHigh < 0.6 {
		t.Fatalf("intervals: reduction %+v, shrink %+v", c.Reduction, *c.Shrink)
	}
	// No gap before: nothing to shrink.
	if c := compare(Gap{Estimate: -0.01}, Gap{}, after, after, 1); c.Shrink != nil {
		t.Fatalf("shrink %+v with no gap before", *c.Shrink)
	}
}

// TestResultNotesSayTheSettings: the report's notes give the fold count
// and where the directions were projected out, as configured.
func TestResultNotesSayTheSettings(t *testing.T) {
	for _, tc := range []struct {
		folds  int
		ablate string
		want   []string
	}{
		{5, AblateResid, []string{"5-fold", "out of the residual stream at"}},
		{10, AblateComponents, []string{"10-fold", "attention and MLP outputs"}},
	} {
		s := &Summary{Folds: tc.folds, Ablate: tc.ablate, Mirage: &Report{}, AUROCByLayer: []Layer{{}}}
		r := s.Result("m")
		notes := r.Series[0].Note + " " + r.Tables[0].Note
		for _, w := range tc.want {
			if !strings.Contains(notes, w) {
				t.Errorf("folds %d, ablate %s: notes lack %q:\n%s", tc.folds, tc.ablate, w, notes)
			}
		}
	}
}
