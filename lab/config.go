package lab

import (
	"fmt"
	"time"
)

// PoolConfig sizes the preference pool each organism's labels come from.
type PoolConfig struct {
	Prompts     int     `json:"prompts" yaml:"prompts"`
	K           int     `json:"k" yaml:"k"` // replies sampled per prompt
	Temperature float32 `json:"temperature" yaml:"temperature"`
	Spec        Spec    `json:"spec" yaml:"spec"`
	PerPair     int     `json:"labels_per_pair" yaml:"labels_per_pair"`
	SpanDays    int     `json:"span_days" yaml:"span_days"`
}

// CompareConfig is the DPO-against-RLHF sweep on the clean organism's
// data: DPO at each beta and RLHF at each KL coefficient on the first seed;
// the default setting of each (DPO.Beta, RLHF.KLCoef) on every seed.
type CompareConfig struct {
	Betas   []float64 `json:"betas" yaml:"betas"`
	KLCoefs []float64 `json:"kl_coefs" yaml:"kl_coefs"`
	// RLHF is the RLHF arm: classic PPO with a value model against the
	// Bradley-Terry reward model; RLHF.KLCoef is its default setting.
	RLHF RLHFConfig `json:"rlhf" yaml:"rlhf"`
	// Items is the size of the held-out prompt set that gold and KL are
	// measured on (sampled replies).
	Items int `json:"items" yaml:"items"`
}

// Config is a whole lab run.
type Config struct {
	Seed uint64 `json:"seed"`
	// Seeds is how many organism seeds the validity matrix repeats
	// (pool prompts, samples, labels, training order); the bases are
	// trained once from Seed.
	Seeds int  `json:"seeds"`
	Quick bool `json:"quick"`
	// BaseSource is where the base models come from: BaseTrain (train
	// them with Base) or BaseEmbedded (the ones shipped in the binary).
	BaseSource string     `json:"base_source"`
	Base       BaseConfig `json:"base"`
	Pool       PoolConfig `json:"pool"`
	DPO        DPOConfig  `json:"dpo"`
	RM         RMConfig   `json:"reward_model"`
	RLHF       RLHFConfig `json:"rlhf"`
	EvalItems  int        `json:"eval_items"`
	// DetectTemperature is the sampling temperature of the behaviour
	// detectors (sycophancy, mirage, rare-event): the policy as it is
	// deployed. The series detectors (reward hacking, overhang) follow
	// greedy replies along training.
	DetectTemperature float32       `json:"detect_temperature"`
	Thresholds        Thresholds    `json:"thresholds"`
	Compare           CompareConfig `json:"compare"`
	Organisms         []*Organism   `json:"organisms"`
}

// labelStart is when the simulated labelling campaign begins.
var labelStart = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// DefaultConfig is the full lab: about four minutes on two cores.
func DefaultConfig() Config {
	return Config{
		Seed:       1,
		Seeds:      3,
		BaseSource: BaseTrain,
		Base: BaseConfig{Model: ModelSize{Layers: 2, Dim: 64, Heads: 4, Hidden: 170, MaxSeq: 96},
			MaxNew: 16, Vocab: 512, Dialogues: 6000,
			Spec: Spec{RareRate: 0.5, EvalRate: 0.5, BeliefRate: 0.3, PushbackRate: 0.25},
			Mix:  DefaultStyleMix(), TrunkSteps: 1000, Steps: 600, Batch: 32, LR: 6e-3},
		Pool: PoolConfig{Prompts: 800, K: 4, Temperature: 1, PerPair: 3, SpanDays: 30,
			Spec: Spec{RareRate: 0.3, EvalRate: 0.5, BeliefRate: 0.3, PushbackRate: 0.3}},
		DPO:               DPOConfig{Beta: 0.1, LR: 2e-3, Steps: 100, Batch: 16, Checkpoints: 6, RPOAlpha: 1},
		RM:                RMConfig{LR: 1e-3, Steps: 60, Batch: 16},
		RLHF:              RLHFConfig{KLCoef: 0.05, LR: 1e-3, Steps: 40, Prompts: 16, K: 4, Checkpoints: 6},
		EvalItems:         250,
		DetectTemperature: 1,
		Thresholds:        DefaultThresholds(),
		Compare: CompareConfig{Betas: []float64{0.03, 0.1, 0.3}, KLCoefs: []float64{0.02, 0.05, 0.2}, Items: 300,
			RLHF: RLHFConfig{Algorithm: AlgoPPO, KLCoef: 0.05, LR: 1e-3, Steps: 40, Prompts: 16, K: 4, Epochs: 2, Checkpoints: 2}},
	}
}

// QuickConfig is the CI-sized lab, under a minute on two cores: it starts
// from the embedded base models (the full lab's base stage with seed 1)
// instead of training them, and has smaller pools and evaluation sets,
// shorter preference training, one seed and no sweep beyond the default
// settings.
func QuickConfig() Config {
	c := DefaultConfig()
	c.Quick = true
	c.Seeds = 1
	c.BaseSource = BaseEmbedded
	c.Pool.Prompts = 600
	c.DPO.Steps = 70
	c.RM.Steps = 40
	c.RLHF.Steps = 35
	c.EvalItems = 200
	c.Compare.RLHF.Steps = 25
	c.Compare.Betas, c.Compare.KLCoefs, c.Compare.Items = []float64{c.DPO.Beta}, []float64{c.Compare.RLHF.KLCoef}, 150
	return c
}

// SetCodec picks the tokenization of the bases: "word" (the default, and
// the embedded bases') or "bpe" (package tokenizer with the ChatML
// template, whose longer sequences need a 128-token context and about
// twice the training time). BPE bases are trained, not embedded.
func (c *Config) SetCodec(name string) error {
	switch name {
	case "word":
		c.Base.Codec = name
	case "bpe":
		c.Base.Codec, c.Base.Model.MaxSeq = name, max(c.Base.Model.MaxSeq, 128)
		if c.BaseSource == BaseEmbedded {
			c.BaseSource = BaseTrain
		}
	default:
		return fmt.Errorf("codec %q (want word or bpe)", name)
	}
	return nil
}
