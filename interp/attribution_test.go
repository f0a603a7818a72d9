package interp

import (
	"math"
	"testing"
)

// The parts sum to the model's logit difference, and each layer's heads
// plus its output bias sum to its attention part.
func TestDirectLogitAttribution(t *testing.T) {
	for fam, m := range testModels(t) {
		for _, pos := range []int{-1, 2} {
			toks := testTokens(7, m.Config.VocabSize, 8)
			a, err := DirectLogitAttribution(m, toks, pos, 3, 11)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(a.Total) < 0.05 {
				t.Fatalf("%s: logit difference %g too small to test anything", fam, a.Total)
			}
			if math.Abs(a.Sum()-a.Total) > 1e-4*math.Max(1, math.Abs(a.Total)) {
				t.Fatalf("%s pos %d: parts sum to %g, model logit difference %g", fam, pos, a.Sum(), a.Total)
			}
			for l := range a.Attn {
				s := a.AttnBias[l]
				for _, h := range a.Heads[l] {
					s += h
				}
				if math.Abs(s-a.Attn[l]) > 1e-4*math.Max(1, math.Abs(a.Attn[l])) {
					t.Fatalf("%s: layer %d heads sum to %g, attention part %g", fam, l, s, a.Attn[l])
				}
			}
			if fam == "llama" && a.NormBias != 0 {
				t.Fatalf("llama has a norm bias part %g", a.NormBias)
			}
			ms := a.Matrices("a", "b")
			if len(ms) != 2 || ms[0].Validate() != nil || ms[1].Validate() != nil || ms[0].Values[1][2] != a.Heads[1][2] {
				t.Fatalf("%s: matrices %+v", fam, ms)
			}
		}
	}
	m := testModels(t)["gpt2"]
	if _, err := DirectLogitAttribution(m, []int32{1, 2}, -1, 3, 99); err == nil {
		t.Fatal("token 99 accepted")
	}
}
