package lab

import (
	"context"
	"testing"

	"github.com/alignlab/alignlab/audit"
)

// TestDatasetsAskTheEvalSets: through audit's probes and the lab's
// templates, the mirage and rare-event probes ask exactly the eval sets'
// prompts, so the audit-backed detectors measure what the lab's own did.
func TestDatasetsAskTheEvalSets(t *testing.T) {
	e := NewEvalSets(NewWorld(), 40, 9)
	ctx := context.Background()
	tasks := func(probe string, ds audit.Dataset) map[string]string {
		p, err := audit.ProbeByName(probe)
		if err != nil {
			t.Fatal(err)
		}
		o := probeOptions(ds)
		ts, err := p.Tasks(ctx, &o)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, tk := range ts {
			out[tk.ID] = tk.Sample.Question()
		}
		return out
	}
	mir := tasks("mirage", e.MirageDataset(false))
	if len(mir) != 2*len(e.Frames) {
		t.Fatalf("mirage: %d tasks for %d pairs", len(mir), len(e.Frames))
	}
	for _, pr := range e.Frames {
		for j, side := range []string{"eval", "deploy"} {
			if got, want := mir["mirage/"+pr[0].ID+"/"+side], pr[j].Messages[0].Content; got != want {
				t.Errorf("mirage %s %s: asks %q, eval set has %q", pr[0].ID, side, got, want)
			}
		}
	}
	if n := len(e.MirageDataset(true).Samples); n != 3*len(e.Frames) {
		t.Errorf("mirage with more: %d samples, want %d", n, 3*len(e.Frames))
	}
	rare := tasks("rare-event", e.RareDataset())
	if len(rare) != 2*len(e.Rarity) {
		t.Fatalf("rare-event: %d tasks for %d pairs (perturbations left in?)", len(rare), len(e.Rarity))
	}
	for _, pr := range e.Rarity {
		if got, want := rare["rare-event/"+pr[0].ID+"/rare_variant"], pr[1].Messages[0].Content; got != want {
			t.Errorf("rare %s: asks %q, eval set has %q", pr[0].ID, got, want)
		}
	}
}

// TestGoldScorer: the scorer gives the gold reward of the lab's reply
// styles, with the prompt's domain and answer taken from the sample.
func TestGoldScorer(t *testing.T) {
	e := NewEvalSets(NewWorld(), 30, 3)
	for k := range e.Single {
		p := &e.Single[k]
		s := sampleOf(p)
		for _, st := range []Style{StylePlain, StyleHedged, StyleBluff, StyleFlip} {
			reply := Reply(p, st, k)
			sc, err := GoldScorer{}.Score(context.Background(), s, reply)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Value != GoldReward(p, reply) {
				t.Errorf("%s %s %q: scorer %g, gold %g", p.ID, st, reply, sc.Value, GoldReward(p, reply))
			}
		}
	}
}
