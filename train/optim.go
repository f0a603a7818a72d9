// AdamW (Loshchilov & Hutter) exactly as torch.optim.AdamW computes it, over
// one flat parameter buffer, split across tensor.Parallel.

package train

import (
	"fmt"
	"math"
	"sort"

	"github.com/alignlab/alignlab/model"
	"github.com/alignlab/alignlab/tensor"
)

// AdamWConfig sets AdamW's hyperparameters. Zero Beta1, Beta2 or Eps take
// PyTorch's defaults (0.9, 0.999, 1e-8); LR and WeightDecay are used as
// given (DefaultAdamWConfig has PyTorch's 1e-3 and 0.01).
type AdamWConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	// NoDecay lists ranges of the parameter buffer exempt from weight
	// decay; NoDecaySpans gives the usual choice (biases and norm weights).
	NoDecay []Span
}

// Span is the half-open range [Lo, Hi) of a flat parameter buffer.
type Span struct{ Lo, Hi int }

// DefaultAdamWConfig returns torch.optim.AdamW's defaults: lr 1e-3, betas
// (0.9, 0.999), eps 1e-8, weight decay 0.01.
func DefaultAdamWConfig() AdamWConfig {
	return AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
}

// NoDecaySpans returns the spans of p's one-dimensional tensors (biases and
// norm weights), which GPT-2 and TRL setups exempt from weight decay.
func NoDecaySpans(p *model.Params) []Span {
	var spans []Span
	off := 0
	for _, t := range p.Tensors {
		if len(t.Shape) == 1 {
			spans = append(spans, Span{off, off + len(t.Data)})
		}
		off += len(t.Data)
	}
	return spans
}

// AdamW is the optimizer state for n parameters: the moment estimates and
// the step count that the bias correction uses.
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	// M and V are the first and second moment estimates.
	M, V []float32
	// Steps counts the updates taken (t in the bias correction).
	Steps int

	runs []decayRun // covers [0, n) in order

	// One Step's arguments, read by the parallel body (bound once).
	params, grads  []float32
	decay, noDecay adamConsts // the kernel's constants for decayed and exempt runs
	fn             func(lo, hi int)
}

// decayRun is a maximal range with one weight-decay setting.
type decayRun struct {
	lo, hi int
	decay  bool
}

// adamBlock is the unit of parallel work (64 Ki parameters).
const adamBlock = 1 << 16

// NewAdamW returns AdamW state for n parameters.
func NewAdamW(n int, cfg AdamWConfig) *AdamW {
	def := DefaultAdamWConfig()
	if cfg.Beta1 == 0 {
		cfg.Beta1 = def.Beta1
	}
	if cfg.Beta2 == 0 {
		cfg.Beta2 = def.Beta2
	}
	if cfg.Eps == 0 {
		cfg.Eps = def.Eps
	}
	o := &AdamW{
		LR: cfg.LR, Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Eps, WeightDecay: cfg.WeightDecay,
		M: make([]float32, n), V: make([]float32, n),
	}
	tensor.AdviseHugePages(o.M) // streamed whole every step, as the weights are
	tensor.AdviseHugePages(o.V)
	o.runs = decayRuns(n, cfg.NoDecay)
	o.fn = o.update
	return o
}

// NewAdamWForParams returns AdamW state for p's parameters with weight decay
// off for its one-dimensional tensors (unless cfg.NoDecay is set).
func NewAdamWForParams(p *model.Params, cfg AdamWConfig) *AdamW {
	if cfg.NoDecay == nil {
		cfg.NoDecay = NoDecaySpans(p)
	}
	return NewAdamW(len(p.Data), cfg)
}

// decayRuns turns the exempt spans into runs covering [0, n).
func decayRuns(n int, noDecay []Span) []decayRun {
	spans := append([]Span(nil), noDecay...)
	sort.Slice(spans, func(i, j int) bool { return spans[i].Lo < spans[j].Lo })
	var runs []decayRun
	add := func(lo, hi int, decay bool) {
		lo, hi = max(lo, 0), min(hi, n)
		if lo >= hi {
			return
		}
		if k := len(runs) - 1; k >= 0 && runs[k].decay == decay && runs[k].hi == lo {
			runs[k].hi = hi
			return
		}
		runs = append(runs, decayRun{lo, hi, decay})
	}
	pos := 0
	for _, s := range spans {
		if s.Hi <= pos {
			continue
		}
		add(pos, s.Lo, true)
		add(max(pos, s.Lo), s.Hi, false)
		pos = max(pos, s.Hi)
	}
	add(pos, n, true)
	return runs
}

// Step applies one AdamW update with learning rate lr, as PyTorch does:
// p ← p·(1 − lr·wd) (decoupled decay, skipped for exempt spans), then
// p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps). It panics if the buffers
// do not match the optimizer's size (a programming error).
func (o *AdamW) Step(params, grads []float32, lr float32) { o.StepScaled(params, grads, lr, 1) }

// StepScaled is Step with every gradient multiplied by gradScale on the fly,
// which is how LMTrainer clips (scale = maxNorm/norm) without a separate
// pass over the gradients; grads itself is left as it was.
func (o *AdamW) StepScaled(params, grads []float32, lr, gradScale float32) {
	if len(params) != len(o.M) || len(grads) != len(o.M) {
		panic(fmt.Sprintf("train: AdamW for %d parameters got %d parameters and %d gradients", len(o.M), len(params), len(grads)))
	}
	o.Steps++
	t := float64(o.Steps)
	bc1 := 1 - math.Pow(float64(o.Beta1), t)
	bc2 := 1 - math.Pow(float64(o.Beta2), t)
	o.params, o.grads = params, grads
	o.noDecay = adamConsts{
		b1: o.Beta1, c1: 1 - o.Beta1, b2: o.Beta2, c2: 1 - o.Beta2, gradScale: gradScale, keep: 1,
		step: float32(float64(lr) / bc1), invRootBC2: float32(1 / math.Sqrt(bc2)), eps: o.Eps,
	}
	o.decay = o.noDecay
	o.decay.keep = 1 - lr*o.WeightDecay
	tensor.Parallel((len(params)+adamBlock-1)/adamBlock, o.fn)
	o.params, o.grads = nil, nil
}

// update runs blocks lo..hi-1 of the current Step.
func (o *AdamW) update(lo, hi int) {
	a, b := lo*adamBlock, min(hi*adamBlock, len(o.params))
	// The first run that ends after a.
	r := sort.Search(len(o.runs), func(i int) bool { return o.runs[i].hi > a })
	for ; r < len(o.runs) && o.runs[r].lo < b; r++ {
		run := o.runs[r]
		k := &o.noDecay
		if run.decay {
			k = &o.decay
		}
		lo, hi := max(a, run.lo), min(b, run.hi)
		adamKernel(o.params[lo:hi], o.grads[lo:hi], o.M[lo:hi], o.V[lo:hi], k)
	}
}
