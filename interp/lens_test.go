package interp

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// The lens's last row is the model's own prediction; its first row reads
// the embeddings; top tokens are sorted and ranks agree with log-probs.
func TestLogitLens(t *testing.T) {
	for fam, m := range testModels(t) {
		toks := testTokens(6, m.Config.VocabSize, 4)
		lens, err := LogitLens(m, toks, LensOptions{Position: -2, TopK: 4, Target: 9})
		if err != nil {
			t.Fatal(err)
		}
		if lens.Position != 4 || len(lens.Rows) != 1+2*m.Config.NumLayers {
			t.Fatalf("%s: position %d, %d rows", fam, lens.Position, len(lens.Rows))
		}
		logits, err := m.Forward(toks, 1, 6, nil)
		if err != nil {
			t.Fatal(err)
		}
		V := m.Config.VocabSize
		want := logSoftmax(logits[4*V : 5*V])
		last := lens.Rows[len(lens.Rows)-1]
		if last.Stage != "post" || last.Layer != m.Config.NumLayers-1 || math.Abs(last.TargetLogProb-want[9]) > 1e-4 {
			t.Fatalf("%s: last row %+v, model log p(9) = %g", fam, last, want[9])
		}
		for i, tp := range last.Top {
			if math.Abs(tp.LogProb-want[tp.Token]) > 1e-4 || (i > 0 && tp.LogProb > last.Top[i-1].LogProb) {
				t.Fatalf("%s: top %v", fam, last.Top)
			}
		}
		for _, r := range lens.Rows {
			if r.TargetRank == 0 && r.Top[0].Token != 9 || r.TargetRank > 0 && r.Top[0].LogProb < r.TargetLogProb {
				t.Fatalf("%s: %s: rank %d, top %v, target %g", fam, r.Hook, r.TargetRank, r.Top, r.TargetLogProb)
			}
		}
		// The first row is the embeddings of token 4 (plus position).
		if lens.Rows[0].Hook != "blocks.0.hook_resid_pre" || lens.Rows[1].Stage != "mid" {
			t.Fatalf("%s: rows start %s %s", fam, lens.Rows[0].Hook, lens.Rows[1].Stage)
		}
		if tab := lens.Table(func(id int32) string { return string(rune('a' + id)) }); len(tab.Rows) != len(lens.Rows) || len(tab.Columns) != 4 {
			t.Fatalf("%s: table %+v", fam, tab)
		}
	}
	m := testModels(t)["gpt2"]
	if _, err := LogitLens(m, []int32{1, 2}, LensOptions{Position: 2, Target: -1}); err == nil {
		t.Fatal("position 2 of 2 accepted")
	}
	// In JSON a rank of 0 (the target is the top token) stays, and no
	// target reads -1.
	if raw, _ := json.Marshal(LensRow{TargetRank: 0}); !strings.Contains(string(raw), `"target_rank":0`) {
		t.Errorf("rank 0 dropped: %s", raw)
	}
	lens, err := LogitLens(m, []int32{1, 2}, LensOptions{Position: -1, Target: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r := lens.Rows[0]; r.TargetRank != -1 {
		t.Errorf("no target: rank %d, want -1", r.TargetRank)
	}
}

// topK keeps the k largest, largest first.
func TestTopK(t *testing.T) {
	got := topK([]float64{-3, -1, -2, -0.5, -4}, 3)
	if len(got) != 3 || got[0].Token != 3 || got[1].Token != 1 || got[2].Token != 2 {
		t.Fatalf("topK = %v", got)
	}
}
