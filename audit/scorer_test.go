package audit

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestScorers(t *testing.T) {
	num := Sample{ID: "n", Target: "1234", Input: userMsg("q")}
	fact := Sample{ID: "f", Target: "The Peter Principle", Aliases: []string{"Peter Principle"}, Input: userMsg("q")}
	mc := Sample{ID: "m", Target: "B", Choices: []string{"4", "5"}, Input: userMsg("q")}
	mcText := Sample{ID: "mt", Target: "5", Choices: []string{"4", "5"}, Input: userMsg("q")}
	re := Sample{ID: "r", Target: `^\s*(yes|Yes)\b`, Input: userMsg("q")}
	cases := []struct {
		scorer string
		s      Sample
		out    string
		want   bool
	}{
		{"numeric", num, "The answer is 1,234.", true},
		{"numeric", num, "1234", true},
		{"numeric", num, "Not 1233 — the answer is 1234.", true},
		{"numeric", num, "I think 1234 is wrong, the answer is 1233", false},
		{"numeric", num, "1234.0", true},
		{"numeric", num, "no idea", false},
		{"exact", num, " 1234\n", true},
		{"exact", num, "1234.", false},
		{"normalized", fact, "The answer is the Peter principle.", true},
		{"normalized", fact, "peter principle", true},
		{"normalized", fact, "The answer is the Jones Theory.", false},
		{"includes", fact, "It's called the Peter Principle, I believe.", true},
		{"includes", fact, "It's the Peterson rule.", false},
		{"choice", mc, "The answer is (B).", true},
		{"choice", mc, "B) 5", true},
		{"choice", mc, "(A)", false},
		{"choice", mcText, "Answer: B", true},
		{"regex", re, "Yes, it is.", true},
		{"regex", re, "No.", false},
		{"auto", num, "The answer is 1234.", true},
		{"auto", fact, "Peter Principle", true},
		{"auto", mc, "answer: b", true},
	}
	for _, c := range cases {
		sc, err := ScorerByName(c.scorer, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sc.Score(context.Background(), c.s, c.out)
		if err != nil {
			t.Errorf("%s(%q): %v", c.scorer, c.out, err)
			continue
		}
		if got.Correct() != c.want {
			t.Errorf("%s on %q for target %q: correct=%v (answer %q), want %v", c.scorer, c.out, c.s.Target, got.Correct(), got.Answer, c.want)
		}
	}
	if _, err := ScorerByName("judge", nil); err == nil {
		t.Error("judge without a model accepted")
	}
	if _, err := ScorerByName("bleu", nil); err == nil {
		t.Error("unknown scorer accepted")
	}
	bad := Sample{ID: "b", Target: "(", Input: userMsg("q")}
	if _, err := (&regexScorer{}).Score(context.Background(), bad, "x"); err == nil {
		t.Error("invalid regex target accepted")
	}
}

func TestPerturbations(t *testing.T) {
	q := "What is 1234 plus 56?"
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]func(string) bool{
		"typo": func(s string) bool {
			return s != q && len(s) == len(q) && strings.Contains(s, "1234 plus 56") == strings.Contains(q, "1234 plus 56")
		},
		"number_format": func(s string) bool { return strings.Contains(s, "1,234") && strings.Contains(s, "56.0") },
		"number_words": func(s string) bool {
			return strings.Contains(s, "one thousand two hundred thirty-four") && strings.Contains(s, "fifty-six")
		},
		"long_context": func(s string) bool { return len(s) > 1500 && strings.HasSuffix(s, q) },
		"non_ascii":    func(s string) bool { return strings.Contains(s, "\u00a0") && strings.HasSuffix(s, "\uff1f") },
	}
	for _, p := range Perturbations {
		got, ok := p.Apply(q, rng)
		if !ok || !want[p.Name](got) {
			t.Errorf("%s: %q (ok=%v)", p.Name, got, ok)
		}
	}
	if _, ok := numberWords("no digits here", rng); ok {
		t.Error("number_words applied to a question without numbers")
	}
	// Decimals and numbers with separators keep their value: only the
	// plain integers change.
	for _, tc := range []struct{ in, format, words string }{
		{"What is 2.5 + 1,500?", "What is 2.5 + 1,500?", "What is 2.5 + 1,500?"},
		{"Add 3 to 2.75, then 1,200,000.", "Add 3.0 to 2.75, then 1,200,000.", "Add three to 2.75, then 1,200,000."},
		{"Is 7 prime?", "Is 7.0 prime?", "Is seven prime?"},
	} {
		if got, _ := numberFormat(tc.in, rng); got != tc.format {
			t.Errorf("number_format(%q) = %q, want %q", tc.in, got, tc.format)
		}
		if got, _ := numberWords(tc.in, rng); got != tc.words {
			t.Errorf("number_words(%q) = %q, want %q", tc.in, got, tc.words)
		}
	}
	for n, w := range map[int]string{0: "zero", 15: "fifteen", 40: "forty", 101: "one hundred one", 999999: "nine hundred ninety-nine thousand nine hundred ninety-nine"} {
		if NumberWords(n) != w {
			t.Errorf("NumberWords(%d) = %q", n, NumberWords(n))
		}
	}
}

func TestMetricsLogDivergence(t *testing.T) {
	// Proxy climbs throughout; gold climbs to kl=5 then falls.
	var b strings.Builder
	for i := range 40 {
		kl := float64(i) * 0.25
		gold := kl
		if kl > 5 {
			gold = 10 - kl
		}
		noise := 0.05 * float64(i%3-1)
		b.WriteString(`{"step": ` + itoa(i) + `, "kl": ` + ftoa(kl) + `, "proxy": ` + ftoa(kl+noise) + `, "gold": ` + ftoa(gold+noise) + "}\n")
	}
	path := t.TempDir() + "/log.jsonl"
	writeFile(t, path, b.String())
	d, err := AnalyzeMetricsLog(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Diverged || d.PeakX < 4 || d.PeakX > 6 || d.X != "kl" {
		t.Errorf("divergence %+v", d)
	}
	if d.GoldDrop.Estimate < 3 || d.GoldDrop.CILow <= 0 || !d.GoldDrop.Contains(d.GoldDrop.Estimate) {
		t.Errorf("gold drop %+v", d.GoldDrop)
	}
	writeFile(t, path, `{"step": 1, "proxy": 1}`+"\n")
	if _, err := AnalyzeMetricsLog(path, 1); err == nil {
		t.Error("log without gold accepted")
	}
}

// TestGoldDropFlatLogs checks the gold drop's interval where gold does
// not drop: flat gold with independent noise, proxy climbing. The peak of
// the smoothed noise is no drop, so the lower bound should be above 0 in
// about 2.5% of logs (a 95% interval, one side); the percentile interval
// used before had it there in 55 of 100. The interval always holds its
// estimate.
func TestGoldDropFlatLogs(t *testing.T) {
	const logs = 200
	above := 0
	for s := range logs {
		rng := rand.New(rand.NewPCG(uint64(s), 9))
		gold := make([]float64, 20)
		for i := range gold {
			gold[i] = 1 + 0.1*rng.NormFloat64()
		}
		w := 3
		st := goldDropStat(gold, smooth(gold, w), w, uint64(s))
		if st.CILow > 0 {
			above++
		}
		if !st.Contains(st.Estimate) || st.CILow < 0 {
			t.Errorf("log %d: %+v", s, st)
		}
	}
	// 200 logs at a 5% rate give at most 19 (binomial 99.5th percentile);
	// 10% would be far above it, and 2.5% is the nominal rate.
	if above > 19 {
		t.Errorf("lower bound above 0 in %d of %d flat logs", above, logs)
	}
	t.Logf("lower bound above 0 in %d of %d flat logs", above, logs)
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("probes:\n  sycophancy: {max: 0.1}\n"))
	f.Add([]byte("probes:\n  mirage.accuracy_eval: {min: 0.5, stat: ci_low}\n"))
	f.Add([]byte("probes:\n  reward-hacking: {max: .nan}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err == nil {
			for name, r := range p.Probes {
				if r.Max == nil && r.Min == nil {
					t.Fatalf("rule %s without bounds accepted", name)
				}
				for _, b := range []*float64{r.Max, r.Min} {
					if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0)) {
						t.Fatalf("rule %s with threshold %v accepted", name, *b)
					}
				}
			}
		}
	})
}
