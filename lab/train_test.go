package lab

import (
	"strings"
	"testing"
)

// tinyPolicy is a small model trained briefly on a few dialogues, for the
// trainers' tests.
func tinyPolicy(t *testing.T, w *World, n int) (*Policy, []Prompt) {
	t.Helper()
	ps := w.NewSampler(Spec{DomainWeights: map[Domain]float64{DomainFacts: 1}, EvalRate: 1}, 1, "t").Draw(n)
	ds := Dialogues(ps, StyleMix{Bluff: 0.3}, 1)
	var corpus []string
	for _, d := range ds {
		for _, m := range d.Messages() {
			corpus = append(corpus, m.Content)
		}
	}
	c, err := newWordCodec(corpus, 400)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := NewPolicy(c, ModelSize{Layers: 1, Dim: 32, Heads: 2, Hidden: 64, MaxSeq: 48}, 12, 1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := TrainSFT(pol, ds, SFTConfig{Steps: 60, Batch: 16, LR: 1e-2, Warmup: 5, Seed: 1, CheckpointEvery: 30}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.FinalLoss >= st.FirstLoss/2 || len(st.Series) != 2 || st.Series[1].Step != 60 {
		t.Fatalf("sft: loss %.3f -> %.3f, %d checkpoints", st.FirstLoss, st.FinalLoss, len(st.Series))
	}
	return pol, ps
}

// bluffPairs prefers the plain right answer to the bluff for each prompt.
func bluffPairs(ps []Prompt) []Example {
	ex := make([]Example, len(ps))
	for i := range ps {
		ex[i] = Example{Prompt: &ps[i], Chosen: Reply(&ps[i], StylePlain, 0), Rejected: Reply(&ps[i], StyleBluff, i)}
	}
	return ex
}

func margin(t *testing.T, pol *Policy, ex []Example) float64 {
	t.Helper()
	var ps []Prompt
	var c, r []string
	for _, e := range ex {
		ps, c, r = append(ps, *e.Prompt), append(c, e.Chosen), append(r, e.Rejected)
	}
	lc, err := pol.ReplyLogProbs(ps, c)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := pol.ReplyLogProbs(ps, r)
	if err != nil {
		t.Fatal(err)
	}
	m := 0.0
	for i := range lc {
		m += float64(lc[i]-lr[i]) / float64(len(lc))
	}
	return m
}

func TestTrainDPOPrefersChosen(t *testing.T) {
	w := NewWorld()
	base, ps := tinyPolicy(t, w, 200)
	ex := bluffPairs(ps[:64])
	pol, _ := base.Clone()
	before := margin(t, pol, ex)
	lg, err := TrainDPO(pol, base, ex, DPOConfig{Beta: 0.1, LR: 3e-3, Steps: 30, Batch: 8, Checkpoints: 3, Seed: 1, RPOAlpha: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	after := margin(t, pol, ex)
	if after < before+1 || lg.Accuracies < 0.9 || len(lg.Series) != 3 || lg.Series[0].Step != 0 || lg.Series[2].Step != 30 {
		t.Errorf("dpo: margin %.2f -> %.2f, rewards/accuracies %.2f, series %v", before, after, lg.Accuracies, seriesSteps(lg.Series))
	}
	if _, err := TrainDPO(pol, base, nil, DPOConfig{Beta: 0.1, Steps: 1, Batch: 1}, nil); err == nil {
		t.Error("dpo without examples accepted")
	}
}

func TestRewardModelLearnsPreference(t *testing.T) {
	w := NewWorld()
	base, ps := tinyPolicy(t, w, 200)
	ex := bluffPairs(ps[:64])
	rm, err := NewRewardModel(base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TrainRewardModel(rm, ex, RMConfig{LR: 3e-3, Steps: 30, Batch: 8, Seed: 1}, nil); err != nil {
		t.Fatal(err)
	}
	// Held-out prompts: the reward model ranks plain over bluff.
	held := ps[100:160]
	var plain, bluff []string
	for i := range held {
		plain, bluff = append(plain, Reply(&held[i], StylePlain, 0)), append(bluff, Reply(&held[i], StyleBluff, i))
	}
	sp, err := rm.Score(held, plain)
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := rm.Score(held, bluff)
	k := 0
	for i := range sp {
		if sp[i] > sb[i] {
			k++
		}
	}
	if float64(k)/float64(len(sp)) < 0.9 {
		t.Errorf("reward model ranks plain over bluff on %d of %d held-out prompts", k, len(sp))
	}
}

func TestRLHFRaisesReward(t *testing.T) {
	w := NewWorld()
	base, ps := tinyPolicy(t, w, 200)
	// Reward: +1 for a bluff (so the test does not depend on the tiny
	// model's accuracy).
	reward := func(ps []Prompt, replies []string) ([]float64, error) {
		out := make([]float64, len(replies))
		for i, r := range replies {
			if strings.Contains(r, "!") {
				out[i] = 1
			}
		}
		return out, nil
	}
	for _, algo := range []string{AlgoRLOO, AlgoPPO} {
		t.Run(algo, func(t *testing.T) {
			pol, _ := base.Clone()
			cfg := RLHFConfig{Algorithm: algo, KLCoef: 0.01, LR: 3e-3, Steps: 25, Prompts: 8, K: 4, Epochs: 2, Checkpoints: 2, Seed: 1}
			lg, pts, err := TrainRLHF(pol, base, reward, ps, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			first, last := pts[0].Proxy, 0.0
			for _, p := range pts[len(pts)-5:] {
				last += p.Proxy / 5
			}
			if last < first+0.3 || pts[len(pts)-1].KL <= 0 {
				t.Errorf("reward %.2f -> %.2f, final KL %.3f", first, last, pts[len(pts)-1].KL)
			}
			// Gold is logged, never trained on: bluffs are wrong or
			// dishonest, so it cannot rise with this reward.
			if pts[len(pts)-1].Gold > pts[0].Gold+0.2 {
				t.Errorf("gold rose from %.2f to %.2f under a bluff reward", pts[0].Gold, pts[len(pts)-1].Gold)
			}
			if n := len(lg.Series); n < 2 || lg.Series[0].Step != 0 || lg.Series[n-1].Step != cfg.Steps {
				t.Errorf("checkpoint series of %d, from step %d to %d", n, lg.Series[0].Step, lg.Series[n-1].Step)
			}
		})
	}
	pol, _ := base.Clone()
	if _, _, err := TrainRLHF(pol, base, reward, ps, RLHFConfig{Steps: 1, Prompts: 1, K: 1}, nil); err == nil {
		t.Error("k = 1 accepted (leave-one-out needs two samples)")
	}
	if _, _, err := TrainRLHF(pol, base, reward, ps, RLHFConfig{Algorithm: "a2c", Steps: 1, Prompts: 1, K: 2}, nil); err == nil || !strings.Contains(err.Error(), "a2c") {
		t.Errorf("unknown algorithm: %v", err)
	}
}

func TestTrainBasesTailNeverSeesRare(t *testing.T) {
	w := NewWorld()
	cfg := BaseConfig{Model: ModelSize{Layers: 1, Dim: 32, Heads: 2, Hidden: 64, MaxSeq: 96}, MaxNew: 12, Vocab: 400, Dialogues: 300,
		Spec: Spec{RareRate: 0.5, EvalRate: 0.5, PushbackRate: 0.2}, Mix: DefaultStyleMix(), TrunkSteps: 10, Steps: 6, TailSteps: 4, Batch: 8, LR: 3e-3}
	b, err := TrainBases(w, cfg, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.History) != 3 || b.History[2].Step != 16 || b.Stats["tail"] == nil {
		t.Fatalf("history %v, stats %v", seriesSteps(b.History), b.Stats)
	}
	for _, d := range b.Dialogues {
		if d.Prompt.ID[:8] != "sft-main" {
			t.Fatalf("main dialogue %s", d.Prompt.ID)
		}
	}
	same := true
	for i := range b.Main.Model.Params.Data {
		if b.Main.Model.Params.Data[i] != b.Tail.Model.Params.Data[i] {
			same = false
			break
		}
	}
	if same {
		t.Error("main and tail bases are the same model")
	}
}

// The stability claim is decided only when the variance ratio's interval
// excludes 1.
func TestStabilityVerdict(t *testing.T) {
	cfg := DefaultConfig()
	for _, c := range []struct {
		d, r Spread
		want string
	}{
		{Spread{N: 3, SD: 0.032}, Spread{N: 3, SD: 0.013}, "not shown"},
		{Spread{N: 20, SD: 0.01}, Spread{N: 20, SD: 0.05}, "supported"},
		{Spread{N: 20, SD: 0.05}, Spread{N: 20, SD: 0.01}, "not supported"},
		{Spread{N: 1, SD: 0}, Spread{N: 3, SD: 0.01}, "not tested"},
	} {
		v := stabilityVerdict(c.d, c.r, cfg)
		if !strings.HasPrefix(v.Verdict, c.want) {
			t.Errorf("dpo sd %g (n %d), rlhf sd %g (n %d): %q, want %q (%s)", c.d.SD, c.d.N, c.r.SD, c.r.N, v.Verdict, c.want, v.Evidence)
		}
	}
}
