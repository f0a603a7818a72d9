// The world and the phases of `alignlab bench dpo-vs-ppo`: one base model,
// one preference data set labelled by an exact gold reward, and the two
// ways of learning from it, DPO directly and RLHF (a Bradley-Terry reward
// model, then PPO against it), each timed and measured on its own. The
// command runs each phase in a child process so that peak memory is per
// method; these functions are what the phases do.

package train

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/alignlab/alignlab/internal/procstat"
	"github.com/alignlab/alignlab/model"
)

// BenchConfig sizes the dpo-vs-ppo benchmark.
type BenchConfig struct {
	Model         model.Config `json:"model"`
	PromptLen     int          `json:"prompt_len"`
	CompletionLen int          `json:"completion_len"`
	// BaseGood is the share of good tokens in the base model's
	// demonstrations (its gold reward, roughly).
	BaseGood float64 `json:"base_good"`
	SFTSteps int     `json:"sft_steps"`
	// Pairs is the size of the preference data set (ties dropped).
	Pairs       int `json:"pairs"`
	EvalPrompts int `json:"eval_prompts"`
	// EvalEvery is the optimiser steps (DPO) or rollout batches (PPO)
	// between evaluations of the gold reward; evaluation is not timed.
	EvalEvery int `json:"eval_every"`
	// DPOEvalScale multiplies EvalEvery for DPO, whose steps are cheaper.
	DPOEvalScale int          `json:"dpo_eval_scale"`
	RM           RewardConfig `json:"rm"`
	PPO          PPOConfig    `json:"ppo"`
	DPO          BenchDPO     `json:"dpo"`
	Seed         int64        `json:"seed"`
}

// BenchDPO is the DPO phase's options (sigmoid loss, TRL's names).
type BenchDPO struct {
	Beta           float64 `json:"beta"`
	LearningRate   float32 `json:"learning_rate"`
	BatchSize      int     `json:"per_device_train_batch_size"`
	NumTrainEpochs int     `json:"num_train_epochs"`
}

// DefaultBenchConfig returns the benchmark's sizes; quick shrinks them to a
// smoke test whose figures are not the benchmark.
func DefaultBenchConfig(quick bool) BenchConfig {
	c := BenchConfig{
		Model:     model.GPT2Config(benchVocab, 16, 4, 4, 128),
		PromptLen: 4, CompletionLen: 8, BaseGood: 0.3,
		SFTSteps: 300, Pairs: 2048, EvalPrompts: 256, EvalEvery: 4, DPOEvalScale: 2, Seed: 1,
		DPO: BenchDPO{Beta: 0.1, LearningRate: 1e-4, BatchSize: 16, NumTrainEpochs: 2},
	}
	c.RM = DefaultRewardConfig()
	c.RM.LearningRate, c.RM.PerDeviceTrainBatchSize, c.RM.NumTrainEpochs, c.RM.Seed = 1e-4, 16, 2, 1
	c.RM.GradientAccumulationSteps = 2
	c.PPO = DefaultPPOConfig()
	c.PPO.ResponseLength = c.CompletionLen
	c.PPO.LearningRate = 1e-4
	// Every pass of either method holds at most 32 sequences: PPO's
	// micro-batches and rollout forwards here, DPO's 16 pairs.
	c.PPO.PerDeviceTrainBatchSize, c.PPO.NumMiniBatches = 32, 2
	c.PPO.LocalRolloutForwardBatchSize = 32
	c.PPO.TotalEpisodes = 64 * 40
	c.PPO.Seed = 1
	if quick {
		c.Model = model.GPT2Config(benchVocab, 16, 2, 2, 64)
		c.SFTSteps, c.Pairs, c.EvalPrompts, c.EvalEvery = 60, 256, 64, 2
		c.PPO.TotalEpisodes = 64 * 6
		c.DPO.NumTrainEpochs = 1
	}
	return c
}

// benchVocab is the world's vocabulary; tokens ≡ 0 (mod 4) are good.
const benchVocab = 32

// BenchGold is the world's gold reward: the fraction of completion tokens
// that are multiples of 4.
func BenchGold(_, completion []int32) float64 {
	if len(completion) == 0 {
		return 0
	}
	n := 0
	for _, t := range completion {
		if t%4 == 0 {
			n++
		}
	}
	return float64(n) / float64(len(completion))
}

// benchData is what the parent prepares and every phase reads.
type benchData struct {
	Config      BenchConfig      `json:"config"`
	Pairs       []PreferencePair `json:"-"`
	Prompts     [][]int32        `json:"prompts"` // PPO's prompts (those of the pairs)
	EvalPrompts [][]int32        `json:"eval_prompts"`
	BaseEval    PolicyEval       `json:"base_eval"`
}

// BenchPoint is one evaluation along a training run.
type BenchPoint struct {
	Seconds float64 `json:"seconds"` // training time so far
	Gold    float64 `json:"gold_reward"`
}

// BenchPhase is one method's measurement, from its own process.
type BenchPhase struct {
	Method string `json:"method"`
	// Seconds is the training wall time, evaluations excluded; for RLHF it
	// is PPO's alone, RMSeconds the reward model's.
	Seconds    float64      `json:"seconds"`
	RMSeconds  float64      `json:"rm_seconds,omitempty"`
	RMAccuracy float64      `json:"rm_heldout_accuracy,omitempty"`
	PeakMB     float64      `json:"peak_mb"`
	Gold       float64      `json:"gold_reward"`
	KL         float64      `json:"kl"`
	Steps      int          `json:"steps"`
	Curve      []BenchPoint `json:"curve"`
}

// PrepareBench builds the base model (SFT on demonstrations whose share of
// good tokens is BaseGood), samples two completions per prompt from it,
// labels each pair by the gold reward (ties dropped), and writes all of it
// under dir.
func PrepareBench(dir string, cfg BenchConfig, progress io.Writer) error {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xbe4c))
	base, err := model.New(cfg.Model, cfg.Seed)
	if err != nil {
		return err
	}
	if err := benchSFT(base, cfg, rng); err != nil {
		return err
	}
	d := benchData{Config: cfg}
	rc := RolloutConfig{ResponseLength: cfg.CompletionLen}
	d.EvalPrompts = benchPrompts(rng, cfg.EvalPrompts, cfg.PromptLen)
	if d.BaseEval, err = EvaluatePolicy(base, nil, FuncScorer(BenchGold), d.EvalPrompts, rc, benchEvalSeed); err != nil {
		return err
	}
	fmt.Fprintf(progress, "base model: gold reward %.3f\n", d.BaseEval.Reward)
	for batch := 0; len(d.Pairs) < cfg.Pairs; batch++ {
		ps := benchPrompts(rng, 256, cfg.PromptLen)
		r, err := sampleRollout(base, nil, FuncScorer(BenchGold), repeatEach(ps, 2), rc, int64(batch)<<20)
		if err != nil {
			return err
		}
		for i := 0; i+1 < r.B && len(d.Pairs) < cfg.Pairs; i += 2 {
			a, b := i, i+1
			if r.Scores[a] == r.Scores[b] {
				continue
			}
			if r.Scores[a] < r.Scores[b] {
				a, b = b, a
			}
			p := r.Prompts[a]
			d.Pairs = append(d.Pairs, PreferencePair{
				Chosen:   append(append([]int32{}, p...), r.Completions[a]...),
				Rejected: append(append([]int32{}, p...), r.Completions[b]...),
			})
			d.Prompts = append(d.Prompts, p)
		}
	}
	fmt.Fprintf(progress, "preference data: %d pairs labelled by the gold reward\n", len(d.Pairs))
	if err := base.Save(filepath.Join(dir, "base")); err != nil {
		return err
	}
	if err := writeJSONL(filepath.Join(dir, "pairs.jsonl"), d.Pairs); err != nil {
		return err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "bench.json"), raw, 0o644)
}

// benchEvalSeed fixes the evaluation samples' streams, so every
// evaluation of every method draws the same random numbers.
const benchEvalSeed = 1 << 50

func benchPrompts(rng *rand.Rand, n, length int) [][]int32 {
	ps := make([][]int32, n)
	for i := range ps {
		p := make([]int32, length)
		for j := range p {
			p[j] = int32(rng.IntN(benchVocab))
		}
		ps[i] = p
	}
	return ps
}

// benchSFT trains the base on demonstrations: random prompts, completions
// whose tokens are good (≡ 0 mod 4) with probability BaseGood.
func benchSFT(m *model.Model, cfg BenchConfig, rng *rand.Rand) error {
	acfg := DefaultAdamWConfig()
	acfg.LR = 1e-3
	tr := NewLMTrainer(m, acfg)
	tr.MaxGradNorm = 1
	const B = 32
	T := cfg.PromptLen + cfg.CompletionLen
	tokens, targets, mask := make([]int32, B*T), make([]int32, B*T), make([]float32, B*T)
	for range cfg.SFTSteps {
		for b := range B {
			row := tokens[b*T : (b+1)*T]
			for j := range row {
				switch {
				case j < cfg.PromptLen:
					row[j] = int32(rng.IntN(benchVocab))
				case rng.Float64() < cfg.BaseGood:
					row[j] = int32(4 * rng.IntN(benchVocab/4))
				default:
					row[j] = int32(4*rng.IntN(benchVocab/4) + 1 + rng.IntN(3))
				}
			}
			for j := range T {
				i := b*T + j
				targets[i], mask[i] = 0, 0
				if j+1 < T && j+1 >= cfg.PromptLen {
					targets[i], mask[i] = row[j+1], 1
				}
			}
		}
		if _, err := tr.TrainStep(tokens, targets, mask, B, T); err != nil {
			return fmt.Errorf("bench base SFT: %w", err)
		}
	}
	return nil
}

func writeJSONL[E any](path string, rows []E) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readJSONL[E any](path string) ([]E, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []E
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for line := 1; sc.Scan(); line++ {
		var e E
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// loadBench reads what PrepareBench wrote, and the base model.
func loadBench(dir string) (*benchData, *model.Model, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "bench.json"))
	if err != nil {
		return nil, nil, err
	}
	var d benchData
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, nil, fmt.Errorf("bench.json: %w", err)
	}
	if d.Pairs, err = readJSONL[PreferencePair](filepath.Join(dir, "pairs.jsonl")); err != nil {
		return nil, nil, err
	}
	base, err := model.Load(filepath.Join(dir, "base"))
	return &d, base, err
}

// benchClock accumulates training time around untimed evaluations.
type benchClock struct {
	total time.Duration
	start time.Time
}

func (c *benchClock) run()  { c.start = time.Now() }
func (c *benchClock) stop() { c.total += time.Since(c.start) }

// RunBenchRLHF is the RLHF phase: a reward model trained on the pairs
// (from the base's weights), then PPO of a copy of the base against it,
// the value model starting from the reward model. The gold reward is
// evaluated every EvalEvery rollout batches (untimed); peak memory is read
// at the end of training.
func RunBenchRLHF(dir string, progress io.Writer) (BenchPhase, error) {
	ph := BenchPhase{Method: "rlhf"}
	d, base, err := loadBench(dir)
	if err != nil {
		return ph, err
	}
	cfg := d.Config
	rc := RolloutConfig{ResponseLength: cfg.CompletionLen}
	procstat.ResetPeakRSS()
	var clock benchClock
	// Reward model: 90% of the pairs to train, 10% held out.
	nTrain := len(d.Pairs) * 9 / 10
	clock.run()
	rm, err := NewScalarModel(base, cfg.Seed)
	if err != nil {
		return ph, err
	}
	st, err := TrainRewardModel(rm, d.Pairs[:nTrain], d.Pairs[nTrain:], cfg.RM, nil)
	if err != nil {
		return ph, err
	}
	clock.stop()
	ph.RMSeconds, ph.RMAccuracy = clock.total.Seconds(), st.Accuracy
	fmt.Fprintf(progress, "reward model: held-out accuracy %.3f in %.1f s\n", st.Accuracy, ph.RMSeconds)

	clock = benchClock{}
	clock.run()
	policy, ref := base, (*model.Model)(nil)
	if ref, err = CloneModel(base); err != nil {
		return ph, err
	}
	value, err := NewScalarModel(rm.Model, 0)
	if err != nil {
		return ph, err
	}
	copy(value.Head, rm.Head)
	tr, err := NewPPOTrainer(policy, ref, value, rm, d.Prompts, cfg.PPO)
	if err != nil {
		return ph, err
	}
	clock.stop()
	for tr.Step() < tr.NumSteps() {
		clock.run()
		m, err := tr.TrainStep()
		clock.stop()
		if err != nil {
			return ph, err
		}
		if tr.Step()%cfg.EvalEvery == 0 || tr.Step() == tr.NumSteps() {
			ev, err := EvaluatePolicy(policy, nil, FuncScorer(BenchGold), d.EvalPrompts, rc, benchEvalSeed)
			if err != nil {
				return ph, err
			}
			ph.Curve = append(ph.Curve, BenchPoint{Seconds: clock.total.Seconds(), Gold: ev.Reward})
			fmt.Fprintf(progress, "ppo step %d/%d: %.1f s, gold %.3f, rm score %.3f, kl %.3f\n",
				tr.Step(), tr.NumSteps(), clock.total.Seconds(), ev.Reward, m["objective/scores"], m["objective/kl"])
		}
	}
	ph.PeakMB = procstat.PeakRSSMB()
	ph.Seconds, ph.Steps = clock.total.Seconds(), tr.Step()
	ev, err := EvaluatePolicy(policy, ref, FuncScorer(BenchGold), d.EvalPrompts, rc, benchEvalSeed)
	if err != nil {
		return ph, err
	}
	ph.Gold, ph.KL = ev.Reward, ev.KL
	return ph, nil
}

// RunBenchDPO is the DPO phase: DPO (sigmoid loss, the other helper's
// DPOTrainer) of the base on the same pairs, the gold reward evaluated every
// EvalEvery·DPOEvalScale steps (untimed). The reference log-probs are
// computed once up front with the policy itself before any step (timed, as
// part of DPO's work), so no second model is held; only the KL evaluation
// at the end, after peak memory is read, loads the base again as the
// reference.
func RunBenchDPO(dir string, progress io.Writer) (BenchPhase, error) {
	ph := BenchPhase{Method: "dpo"}
	d, policy, err := loadBench(dir)
	if err != nil {
		return ph, err
	}
	cfg := d.Config
	rc := RolloutConfig{ResponseLength: cfg.CompletionLen}
	pairs := make([]PrefPair, len(d.Pairs))
	for i, p := range d.Pairs {
		n := cfg.PromptLen
		pairs[i] = PrefPair{Prompt: p.Chosen[:n], Chosen: p.Chosen[n:], Rejected: p.Rejected[n:]}
	}
	dc := DefaultDPOConfig()
	dc.Beta = cfg.DPO.Beta
	dc.LearningRate = cfg.DPO.LearningRate
	dc.PerDeviceTrainBatchSize = cfg.DPO.BatchSize
	dc.NumTrainEpochs = cfg.DPO.NumTrainEpochs
	dc.MaxLength = cfg.PromptLen + cfg.CompletionLen
	dc.Seed = cfg.Seed
	procstat.ResetPeakRSS()
	var clock benchClock
	clock.run()
	tr, err := NewDPOTrainer(policy, pairs, nil, dc, DPOOptions{})
	if err != nil {
		return ph, err
	}
	clock.stop()
	every := cfg.EvalEvery * cfg.DPOEvalScale
	for tr.Step() < tr.NumSteps() {
		clock.run()
		m, err := tr.TrainStep()
		clock.stop()
		if err != nil {
			return ph, err
		}
		if tr.Step()%every == 0 || tr.Step() == tr.NumSteps() {
			ev, err := EvaluatePolicy(policy, nil, FuncScorer(BenchGold), d.EvalPrompts, rc, benchEvalSeed)
			if err != nil {
				return ph, err
			}
			ph.Curve = append(ph.Curve, BenchPoint{Seconds: clock.total.Seconds(), Gold: ev.Reward})
			fmt.Fprintf(progress, "dpo step %d/%d: %.1f s, gold %.3f, loss %.3f, rewards/accuracies %.3f\n",
				tr.Step(), tr.NumSteps(), clock.total.Seconds(), ev.Reward, m["loss"], m["rewards/accuracies"])
		}
	}
	ph.PeakMB = procstat.PeakRSSMB()
	ph.Seconds, ph.Steps = clock.total.Seconds(), tr.Step()
	_, ref, err := loadBench(dir)
	if err != nil {
		return ph, err
	}
	ev, err := EvaluatePolicy(policy, ref, FuncScorer(BenchGold), d.EvalPrompts, rc, benchEvalSeed)
	if err != nil {
		return ph, err
	}
	ph.Gold, ph.KL = ev.Reward, ev.KL
	return ph, nil
}

// BenchResult compares the two phases under the figures the issue names.
type BenchResult struct {
	Quick bool `json:"quick"`
	// BaseGoldReward is the base model's gold reward, where both start.
	BaseGoldReward float64  `json:"base_gold_reward"`
	Pairs          int      `json:"pairs"`
	PPOSeconds     float64  `json:"ppo_seconds"`
	RMSeconds      float64  `json:"rm_seconds"`
	PPOPeakMB      float64  `json:"ppo_peak_mb"`
	PPOGoldReward  float64  `json:"ppo_gold_reward"`
	PPOKL          float64  `json:"ppo_kl"`
	RMAccuracy     float64  `json:"rm_heldout_accuracy"`
	DPOStatus      string   `json:"dpo_status"` // "ok", or why the DPO phase did not run
	DPOSeconds     *float64 `json:"dpo_seconds"`
	DPOPeakMB      *float64 `json:"dpo_peak_mb"`
	DPOGoldReward  *float64 `json:"dpo_gold_reward"`
	DPOKL          *float64 `json:"dpo_kl"`
	// DPOSecondsToPPOGold is DPO's training time until its gold reward
	// first reached PPO's final one (nil: it never did).
	DPOSecondsToPPOGold *float64 `json:"dpo_seconds_to_ppo_gold"`
	// TimeRatio is DPOSecondsToPPOGold / PPOSeconds (target <= 1/3);
	// TimeRatioWithRM counts the reward model's training in RLHF's time.
	TimeRatio       *float64 `json:"time_ratio"`
	TimeRatioWithRM *float64 `json:"time_ratio_with_rm"`
	// MemoryRatio is DPOPeakMB / PPOPeakMB (target <= 1/2).
	MemoryRatio *float64 `json:"memory_ratio"`
	TimeTarget  *bool    `json:"time_target_met"`
	MemTarget   *bool    `json:"memory_target_met"`
	// PPOSecondsToFinalGold is when PPO's own curve first reached its
	// final gold reward: its run may go on past its plateau, which
	// TimeRatio (the definition) counts and TimeRatioToReach
	// (DPOSecondsToPPOGold / PPOSecondsToFinalGold) does not.
	PPOSecondsToFinalGold float64  `json:"ppo_seconds_to_final_gold"`
	TimeRatioToReach      *float64 `json:"time_ratio_to_reach"`
	// PPOBestGold is the best gold reward along PPO's curve (PPO may
	// over-optimise the reward model and lose gold reward later), reached
	// at PPOSecondsToBest; DPOSecondsToPPOBest is DPO's time to match it.
	PPOBestGold         float64      `json:"ppo_best_gold_reward"`
	PPOSecondsToBest    float64      `json:"ppo_seconds_to_best_gold"`
	DPOSecondsToPPOBest *float64     `json:"dpo_seconds_to_ppo_best_gold"`
	TimeRatioBest       *float64     `json:"time_ratio_best"`
	PPOCurve            []BenchPoint `json:"ppo_curve"`
	DPOCurve            []BenchPoint `json:"dpo_curve"`
}

// CompareBench puts the phases side by side; dpoErr is why the DPO phase
// failed, if it did.
func CompareBench(base PolicyEval, pairs int, rlhf BenchPhase, dpo BenchPhase, dpoErr error, quick bool) BenchResult {
	r := BenchResult{
		Quick: quick, BaseGoldReward: base.Reward, Pairs: pairs,
		PPOSeconds: rlhf.Seconds, RMSeconds: rlhf.RMSeconds, PPOPeakMB: rlhf.PeakMB,
		PPOGoldReward: rlhf.Gold, PPOKL: rlhf.KL, RMAccuracy: rlhf.RMAccuracy, PPOCurve: rlhf.Curve,
		DPOStatus: "ok",
	}
	for _, p := range rlhf.Curve {
		if p.Gold >= rlhf.Gold && r.PPOSecondsToFinalGold == 0 {
			r.PPOSecondsToFinalGold = p.Seconds
		}
		if p.Gold > r.PPOBestGold {
			r.PPOBestGold, r.PPOSecondsToBest = p.Gold, p.Seconds
		}
	}
	if dpoErr != nil {
		r.DPOStatus = "blocked: " + dpoErr.Error()
		return r
	}
	f := func(x float64) *float64 { return &x }
	b := func(x bool) *bool { return &x }
	r.DPOSeconds, r.DPOPeakMB, r.DPOGoldReward, r.DPOKL = f(dpo.Seconds), f(dpo.PeakMB), f(dpo.Gold), f(dpo.KL)
	r.DPOCurve = dpo.Curve
	for _, p := range dpo.Curve {
		if p.Gold >= rlhf.Gold && r.DPOSecondsToPPOGold == nil {
			r.DPOSecondsToPPOGold = f(p.Seconds)
		}
		if p.Gold >= r.PPOBestGold && r.DPOSecondsToPPOBest == nil {
			r.DPOSecondsToPPOBest = f(p.Seconds)
		}
	}
	if r.DPOSecondsToPPOBest != nil && r.PPOSecondsToBest > 0 {
		r.TimeRatioBest = f(*r.DPOSecondsToPPOBest / r.PPOSecondsToBest)
	}
	if r.DPOSecondsToPPOGold != nil && rlhf.Seconds > 0 {
		r.TimeRatio = f(*r.DPOSecondsToPPOGold / rlhf.Seconds)
		r.TimeRatioWithRM = f(*r.DPOSecondsToPPOGold / (rlhf.Seconds + rlhf.RMSeconds))
		r.TimeTarget = b(*r.TimeRatio <= 1.0/3)
		if r.PPOSecondsToFinalGold > 0 {
			r.TimeRatioToReach = f(*r.DPOSecondsToPPOGold / r.PPOSecondsToFinalGold)
		}
	} else {
		r.TimeTarget = b(false)
	}
	if rlhf.PeakMB > 0 {
		r.MemoryRatio = f(dpo.PeakMB / rlhf.PeakMB)
		r.MemTarget = b(*r.MemoryRatio <= 0.5)
	}
	return r
}

// BenchBase returns the base model's evaluation and the number of pairs
// PrepareBench recorded in dir.
func BenchBase(dir string) (PolicyEval, int, error) {
	d, _, err := loadBench(dir)
	if err != nil {
		return PolicyEval{}, 0, err
	}
	return d.BaseEval, len(d.Pairs), nil
}
