package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/model"
)

// synthEOS ends every synthetic completion.
const synthEOS = 1

// synthPairs builds a preference task a tiny model can learn: prompts of
// 2-3 tokens from 2..5, completions of 4 tokens from 6..15 (then EOS), and
// the completion with more even tokens is chosen (ties redrawn). Held-out
// pairs are fresh draws, so accuracy on them measures the learned property
// ("even tokens are better"), not memory.
func synthPairs(n int, seed uint64) []PrefPair {
	rng := rand.New(rand.NewPCG(seed, 7))
	draw := func(lo, hi, k int) []int32 {
		out := make([]int32, k)
		for i := range out {
			out[i] = int32(lo + rng.IntN(hi-lo+1))
		}
		return out
	}
	even := func(s []int32) int {
		n := 0
		for _, t := range s {
			if t%2 == 0 {
				n++
			}
		}
		return n
	}
	pairs := make([]PrefPair, n)
	for i := range pairs {
		a, b := draw(6, 15, 4), draw(6, 15, 4)
		for even(a) == even(b) {
			b = draw(6, 15, 4)
		}
		if even(a) < even(b) {
			a, b = b, a
		}
		pairs[i] = PrefPair{Prompt: draw(2, 5, 2+rng.IntN(2)), Chosen: append(a, synthEOS), Rejected: append(b, synthEOS)}
	}
	return pairs
}

func tinyModel(t testing.TB, seed int64) *model.Model {
	t.Helper()
	m, err := model.New(model.GPT2Config(16, 16, 1, 2, 32), seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tinyDPOConfig(loss string) DPOConfig {
	c := DefaultDPOConfig()
	c.LossType = loss
	c.LearningRate = 3e-3
	c.PerDeviceTrainBatchSize = 8
	c.GradientAccumulationSteps = 2
	c.NumTrainEpochs = 2
	c.LRSchedulerType = "constant"
	c.MaxLength = 16
	c.Seed = 3
	if loss == LossIPO {
		c.Beta = 0.5
	}
	if loss == LossRobust {
		c.LabelSmoothing = 0.1
	}
	if loss == LossSimPO {
		c.Beta, c.SimPOGamma = 2, 0.5
	}
	return c
}

// Every loss type learns the synthetic preference: held-out
// rewards/accuracies rise from about 0.5 to above 0.9.
func TestDPOLearnsSyntheticPreference(t *testing.T) {
	train, eval := synthPairs(240, 1), synthPairs(64, 2)
	for _, loss := range LossTypes {
		t.Run(loss, func(t *testing.T) {
			if raceEnabled && loss != LossSigmoid && loss != LossORPO {
				t.Skip("the race detector needs one reference-based and one reference-free loss, not all six")
			}
			m := tinyModel(t, 5)
			tr, err := NewDPOTrainer(m, train, eval, tinyDPOConfig(loss), DPOOptions{})
			if err != nil {
				t.Fatal(err)
			}
			before, err := tr.Evaluate()
			if err != nil {
				t.Fatal(err)
			}
			var last Metrics
			for tr.Step() < tr.NumSteps() {
				if last, err = tr.TrainStep(); err != nil {
					t.Fatal(err)
				}
			}
			after, err := tr.Evaluate()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d steps, eval accuracy %.3f -> %.3f, eval loss %.4f -> %.4f, margin %.3f, last train loss %.4f", loss, tr.NumSteps(),
				before["rewards/accuracies"], after["rewards/accuracies"], before["loss"], after["loss"], after["rewards/margins"], last["loss"])
			if after["rewards/accuracies"] <= 0.9 {
				t.Fatalf("held-out rewards/accuracies %.3f, want > 0.9", after["rewards/accuracies"])
			}
			if !(after["loss"] < before["loss"]) {
				t.Fatalf("held-out loss did not fall: %g -> %g", before["loss"], after["loss"])
			}
			for _, k := range []string{"loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "grad_norm", "learning_rate", "epoch"} {
				if _, ok := last[k]; !ok {
					t.Errorf("train metrics lack %q", k)
				}
			}
			if loss == LossORPO {
				for _, k := range []string{"nll_loss", "log_odds_chosen", "log_odds_ratio"} {
					if _, ok := last[k]; !ok {
						t.Errorf("orpo metrics lack %q", k)
					}
				}
			}
		})
	}
}

// batchLoss is the trainer's loss on pairs (as logged), in float64.
func batchLoss(t *testing.T, tr *DPOTrainer, pairs []PrefPair, ref RefLogps) float64 {
	t.Helper()
	var st pairStats
	if err := tr.pass(pairs, ref, 0, &st, false, 1, 1); err != nil {
		t.Fatal(err)
	}
	return st.metrics(tr.Config)["loss"]
}

// The gradient the trainer feeds the engine (per-token coefficients from
// each pair's loss, the NLL term, micro-batches) matches finite
// differences of the logged batch loss, for a reference-based loss with
// RPO and for ORPO (whose NLL covers the prompt).
func TestDPOGradientMatchesFiniteDifferences(t *testing.T) {
	pairs := synthPairs(6, 9)
	for _, tc := range []struct {
		loss string
		rpo  float64
	}{{LossSigmoid, 0.7}, {LossIPO, 0}, {LossORPO, 0}, {LossSimPO, 0.3}} {
		t.Run(tc.loss, func(t *testing.T) {
			m := tinyModel(t, 11)
			ref := tinyModel(t, 12) // a different reference, so x != 0
			cfg := tinyDPOConfig(tc.loss)
			cfg.RPOAlpha = tc.rpo
			cfg.PerDeviceTrainBatchSize = 4 // two micro-batches of 4 and 2
			cfg.GradientAccumulationSteps = 1
			tr, err := NewDPOTrainer(m, pairs, nil, cfg, DPOOptions{Ref: ref})
			if err != nil {
				t.Fatal(err)
			}
			scope, _ := cfg.nllScope()
			nllTok := float64(nllTokens(pairs, scope))
			m.ZeroGrad()
			var st pairStats
			for lo := 0; lo < len(pairs); lo += 4 {
				hi := min(lo+4, len(pairs))
				if err := tr.pass(pairs[lo:hi], tr.trainRef, lo, &st, true, len(pairs), nllTok); err != nil {
					t.Fatal(err)
				}
			}
			grad := append([]float32(nil), m.Grads.Data...)
			// Probe the entries with the largest gradients of a few tensors.
			checked := 0
			for _, tn := range m.Params.Tensors {
				if tn.Name != "wte" && tn.Name != "h.0.mlp.fc.weight" && tn.Name != "h.0.attn.qkv.weight" {
					continue
				}
				off := offsetOf(m.Params, tn.Data)
				best := 0
				for i := range tn.Data {
					if math.Abs(float64(grad[off+i])) > math.Abs(float64(grad[off+best])) {
						best = i
					}
				}
				const h = 1e-2
				orig := tn.Data[best]
				tn.Data[best] = orig + h
				up := batchLoss(t, tr, pairs, tr.trainRef)
				tn.Data[best] = orig - h
				down := batchLoss(t, tr, pairs, tr.trainRef)
				tn.Data[best] = orig
				num := (up - down) / (2 * h)
				got := float64(grad[off+best])
				if math.Abs(num-got) > 0.03*math.Abs(num)+1e-4 {
					t.Errorf("%s[%d]: gradient %g, finite difference %g", tn.Name, best, got, num)
				}
				checked++
			}
			if checked != 3 {
				t.Fatalf("checked %d tensors", checked)
			}
		})
	}
}

// offsetOf returns where view starts inside p.Data.
func offsetOf(p *model.Params, view []float32) int {
	off := 0
	for _, t := range p.Tensors {
		if &t.Data[0] == &view[0] {
			return off
		}
		off += len(t.Data)
	}
	panic("view not found")
}

// dpoRun runs a DPO trainer inside a run directory.
func dpoRun(t *testing.T, dir string, cfg DPOConfig, stopAfter int, resume, lora bool) (*DPOTrainer, error) {
	t.Helper()
	m := tinyModel(t, 5)
	o := DPOOptions{RefCacheDir: filepath.Join(filepath.Dir(dir), "refcache")}
	if lora {
		l, err := NewLoRA(m, LoRAConfig{R: 2, Alpha: 4, Targets: []string{"c_attn", "c_fc"}}, 1)
		if err != nil {
			t.Fatal(err)
		}
		o.LoRA = l
	}
	tr, err := NewDPOTrainer(m, synthPairs(40, 1), synthPairs(12, 2), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	var r *Run
	if resume {
		if r, err = OpenRun(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Resume(tr); err != nil {
			t.Fatal(err)
		}
	} else if r, err = CreateRun(dir, cfg); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return tr, r.Train(context.Background(), tr, LoopConfig{LoggingSteps: 2, EvalSteps: 3, SaveSteps: 4, StopAfter: stopAfter})
}

// Stopping after some steps and resuming gives the same metrics file and
// the same weights as an uninterrupted run, training all weights or LoRA
// adapters.
func TestDPOResumeIsExact(t *testing.T) {
	for _, lora := range []bool{false, true} {
		t.Run(map[bool]string{false: "full", true: "lora"}[lora], func(t *testing.T) { testDPOResume(t, lora) })
	}
}

func testDPOResume(t *testing.T, lora bool) {
	root := t.TempDir()
	cfg := tinyDPOConfig(LossSigmoid)
	cfg.PerDeviceTrainBatchSize, cfg.GradientAccumulationSteps, cfg.NumTrainEpochs = 4, 2, 2
	cfg.LRSchedulerType, cfg.WarmupRatio = "linear", 0.2
	full, err := dpoRun(t, filepath.Join(root, "full"), cfg, 0, false, lora)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dpoRun(t, filepath.Join(root, "cut"), cfg, 6, false, lora); !errors.Is(err, ErrStopped) {
		t.Fatalf("got %v, want a stop", err)
	}
	resumed, err := dpoRun(t, filepath.Join(root, "cut"), cfg, 0, true, lora)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(full.Policy.Params.Data, resumed.Policy.Params.Data) {
		t.Fatal("weights differ between the uninterrupted and the resumed run")
	}
	a, _ := os.ReadFile(filepath.Join(root, "full", RunMetricsFile))
	b, _ := os.ReadFile(filepath.Join(root, "cut", RunMetricsFile))
	if string(a) != string(b) || len(a) == 0 {
		t.Fatalf("metrics differ:\n%s\nvs\n%s", a, b)
	}
	if !strings.Contains(string(a), `"eval_rewards/accuracies"`) {
		t.Fatalf("no eval metrics logged:\n%s", a)
	}
}

// poisoned wraps a trainer and writes a NaN into the weights before step
// at, as a diverging run would.
type poisoned struct {
	*DPOTrainer
	at int
}

func (p *poisoned) TrainStep() (Metrics, error) {
	if p.Step() == p.at {
		p.Policy.Params.TokEmb[0] = float32(math.NaN())
		for i := range p.Policy.Params.TokEmb {
			p.Policy.Params.TokEmb[i] = float32(math.NaN())
		}
	}
	return p.DPOTrainer.TrainStep()
}

// A NaN loss stops the run with a message naming the step, and the last
// good checkpoint stays the newest one.
func TestDPOStopsOnNaN(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cfg := tinyDPOConfig(LossSigmoid)
	tr, err := NewDPOTrainer(tinyModel(t, 5), synthPairs(40, 1), nil, cfg, DPOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := CreateRun(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Train(context.Background(), &poisoned{tr, 5}, LoopConfig{SaveSteps: 2})
	if err == nil || !strings.Contains(err.Error(), "step 5: loss is NaN") || !strings.Contains(err.Error(), "step-4") {
		t.Fatalf("got %v, want a NaN error at step 5 naming checkpoint step-4", err)
	}
	r.Close()
	_, step, ok, _ := r.LatestCheckpoint()
	if !ok || step != 4 {
		t.Fatalf("latest checkpoint %d, want 4", step)
	}
	back := tinyModel(t, 0)
	if err := LoadModelWeights(r.CheckpointDir(4), back); err != nil {
		t.Fatal(err)
	}
	for _, v := range back.Params.Data {
		if math.IsNaN(float64(v)) {
			t.Fatal("the kept checkpoint has NaN weights")
		}
	}
}

// Reference log-probs are cached under a key of the model and the data:
// the second trainer reads them, and other data or weights miss.
func TestRefLogpsCache(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel(t, 5)
	pairs := synthPairs(10, 4)
	a, hit, err := CachedRefLogps(dir, m, pairs, 3)
	if err != nil || hit {
		t.Fatalf("first: hit %v, %v", hit, err)
	}
	b, hit, err := CachedRefLogps(dir, m, pairs, 4)
	if err != nil || !hit {
		t.Fatalf("second: hit %v, %v", hit, err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("cached values differ")
	}
	direct, _ := ComputeRefLogps(m, pairs, 10)
	for i := range pairs {
		if math.Abs(float64(direct.Chosen[i]-a.Chosen[i])) > 1e-4 {
			t.Fatalf("pair %d: %g vs %g", i, direct.Chosen[i], a.Chosen[i])
		}
	}
	if _, hit, _ := CachedRefLogps(dir, m, pairs[1:], 3); hit {
		t.Fatal("other data hit the cache")
	}
	m.Params.Data[7] += 0.5
	if _, hit, _ := CachedRefLogps(dir, m, pairs, 3); hit {
		t.Fatal("other weights hit the cache")
	}
}

// Repeated and swapped pairs (several labels of one comparison) get the
// same reference log-probs as each pair scored on its own.
func TestRefLogpsRepeatedPairs(t *testing.T) {
	m := tinyModel(t, 5)
	base := synthPairs(6, 4)
	var pairs []PrefPair
	for _, p := range base {
		swapped := p
		swapped.Chosen, swapped.Rejected = p.Rejected, p.Chosen
		pairs = append(pairs, p, swapped, p)
	}
	got, err := ComputeRefLogps(m, pairs, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pairs {
		alone, err := ComputeRefLogps(m, []PrefPair{p}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(float64(alone.Chosen[0]-got.Chosen[i])) + math.Abs(float64(alone.Rejected[0]-got.Rejected[i])); d > 1e-4 {
			t.Errorf("pair %d: (%g, %g) in the batch, (%g, %g) alone", i, got.Chosen[i], got.Rejected[i], alone.Chosen[0], alone.Rejected[0])
		}
	}
	for i := 0; i < len(pairs); i += 3 {
		if got.Chosen[i] != got.Rejected[i+1] || got.Chosen[i] != got.Chosen[i+2] {
			t.Errorf("pair %d: its repeats were scored differently", i/3)
		}
	}
}
